#include "profiler/gang_profile.h"

#include <c10/util/Exception.h>
#include <torch/types.h>

#include <algorithm>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "profiler/selection.h"

namespace nmoe::profiler {
namespace {

// A tensor view of a host vector (no copy): collectives reduce into the vector.
template <typename T>
at::Tensor View(std::vector<T>& v, at::ScalarType type) {
  static_assert(sizeof(T) == 8);
  return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::TensorOptions().dtype(type));
}

absl::Status SumU64(comm::Communicator& comm, std::vector<uint64_t>& v) {
  if (v.empty()) return absl::OkStatus();
  // Counts stay far below 2^63: summing them as int64 is exact.
  return comm.AllReduce(View(v, at::kLong), comm::ReduceOp::kSum);
}

// The rows of every rank (ids and labels) and each rank's row count.
struct GangRows {
  std::vector<int64_t> counts;        // [rank]
  int64_t max_rows = 0;
  std::vector<int64_t> sentence_ids;  // [rank][max_rows], padded
  std::vector<int64_t> labels;        // [rank][max_rows], padded
};

absl::StatusOr<GangRows> GatherRows(comm::Communicator& comm, const ResponseRows& mine) {
  const int world = comm.world_size();
  GangRows g;
  at::Tensor count = torch::tensor({static_cast<int64_t>(mine.rows())}, torch::kLong);
  NMOE_ASSIGN_OR_RETURN(std::vector<at::Tensor> counts, comm.AllGather(count));
  for (const at::Tensor& c : counts) g.counts.push_back(c.item<int64_t>());
  g.max_rows = std::max<int64_t>(1, *std::max_element(g.counts.begin(), g.counts.end()));
  at::Tensor meta = torch::full({2, g.max_rows}, -1, torch::kLong);
  int64_t* m = meta.data_ptr<int64_t>();
  for (size_t r = 0; r < mine.rows(); ++r) {
    m[r] = mine.sentence_ids[r];
    m[static_cast<size_t>(g.max_rows) + r] = mine.labels[r];
  }
  at::Tensor all = torch::empty({world, 2, g.max_rows}, torch::kLong);
  NMOE_RETURN_IF_ERROR(comm.AllGather(meta, all));
  const int64_t* a = all.data_ptr<int64_t>();
  for (int r = 0; r < world; ++r) {
    for (int64_t i = 0; i < g.counts[static_cast<size_t>(r)]; ++i) {
      g.sentence_ids.push_back(a[(r * 2) * g.max_rows + i]);
      g.labels.push_back(a[(r * 2 + 1) * g.max_rows + i]);
    }
  }
  return g;
}

// One chunk: rank j receives every rank's rows of sub-block j (width `part`) of the
// chunk and scores it into `ap`.
absl::Status ExchangeAndScore(comm::Communicator& comm, const ResponseRows& chunk, const GangRows& gang,
                              int32_t num_languages, int threads, std::vector<std::vector<double>>* ap) {
  const int world = comm.world_size();
  const int rank = comm.rank();
  const int64_t width = chunk.width();
  const int64_t part = std::max<int64_t>(1, (width + world - 1) / world);
  const int64_t rows = static_cast<int64_t>(chunk.rows());
  at::Tensor send_WRP = torch::zeros({world, gang.max_rows, part}, torch::kFloat);
  float* send = send_WRP.data_ptr<float>();
  for (int j = 0; j < world; ++j) {
    const int64_t begin = std::min(width, j * part), end = std::min(width, (j + 1) * part);
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = chunk.values.data() + r * width;
      std::copy(src + begin, src + end, send + (j * gang.max_rows + r) * part);
    }
  }
  at::Tensor recv_WRP = torch::empty_like(send_WRP);
  NMOE_RETURN_IF_ERROR(comm.AllToAll(send_WRP, recv_WRP));
  send_WRP = at::Tensor();

  ResponseRows mine;
  mine.neuron_begin = chunk.neuron_begin + std::min(width, rank * part);
  mine.neuron_end = chunk.neuron_begin + std::min(width, (rank + 1) * part);
  if (mine.neuron_end <= mine.neuron_begin) return absl::OkStatus();
  const int64_t w = mine.width();
  const float* recv = recv_WRP.data_ptr<float>();
  size_t next = 0;
  for (int r = 0; r < world; ++r) {
    for (int64_t i = 0; i < gang.counts[static_cast<size_t>(r)]; ++i, ++next) {
      mine.sentence_ids.push_back(gang.sentence_ids[next]);
      mine.labels.push_back(static_cast<int32_t>(gang.labels[next]));
      const float* src = recv + (r * gang.max_rows + i) * part;
      mine.values.insert(mine.values.end(), src, src + w);
    }
  }
  ScoreAp(mine, num_languages, threads, ap);
  return absl::OkStatus();
}

}  // namespace

absl::Status AllReduceCollected(comm::Communicator& comm, CollectedProfile& p) {
  try {
    std::vector<uint64_t> totals = {p.tokens, static_cast<uint64_t>(p.sentences)};
    NMOE_RETURN_IF_ERROR(SumU64(comm, totals));
    p.tokens = totals[0];
    p.sentences = static_cast<int64_t>(totals[1]);
    if (p.lape) {
      for (auto& counts : p.lape_counts.counts) NMOE_RETURN_IF_ERROR(SumU64(comm, counts));
      NMOE_RETURN_IF_ERROR(SumU64(comm, p.lape_counts.tokens));
    }
    if (p.similarity) {
      NMOE_RETURN_IF_ERROR(comm.AllReduce(View(p.similarity_sums.sums, at::kDouble), comm::ReduceOp::kSum));
      NMOE_RETURN_IF_ERROR(SumU64(comm, p.similarity_sums.tokens));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("profile: combining over the gang: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ProfileScores> ScoreProfileOnGang(comm::Communicator& comm, CollectedProfile& profile,
                                                 const ScoreOptions& options) {
  NMOE_RETURN_IF_ERROR(AllReduceCollected(comm, profile));
  const bool ap = profile.ap;
  profile.ap = false;  // LAPE and similarity from the summed state, as a single run
  absl::StatusOr<ProfileScores> scores = ScoreProfile(profile, options);
  profile.ap = ap;
  if (!scores.ok() || !ap) return scores;
  if (profile.responses == nullptr) return absl::FailedPreconditionError("profile: no responses collected");

  const size_t langs = profile.languages.size();
  const size_t n = static_cast<size_t>(profile.space.size());
  try {
    // Every rank keeps the AP of the neurons it scores; the rest stays 0 and the
    // gang's sum fills it in. [language][neuron] in one block for the all-reduce.
    std::vector<double> table(langs * n, 0.0);
    std::vector<std::vector<double>> ap_scores(langs, std::vector<double>(n, 0.0));
    std::optional<GangRows> gang;
    for (int64_t c = 0; c < profile.responses->num_chunks(); ++c) {
      NMOE_ASSIGN_OR_RETURN(ResponseRows chunk, profile.responses->ReadChunk(c));
      if (!gang) {
        NMOE_ASSIGN_OR_RETURN(gang, GatherRows(comm, chunk));
        std::vector<size_t> per(langs, 0);
        for (int64_t l : gang->labels) {
          if (l >= 0 && static_cast<size_t>(l) < langs) ++per[static_cast<size_t>(l)];
        }
        for (size_t l = 0; l < langs; ++l) {
          if (per[l] == 0) {
            return absl::FailedPreconditionError(
                absl::StrCat("profile: language ", profile.languages[l], " has no sentence; AP needs positives"));
          }
        }
      }
      NMOE_RETURN_IF_ERROR(
          ExchangeAndScore(comm, chunk, *gang, static_cast<int32_t>(langs), options.threads, &ap_scores));
    }
    for (size_t l = 0; l < langs; ++l) std::copy(ap_scores[l].begin(), ap_scores[l].end(), table.begin() + l * n);
    ap_scores.clear();
    NMOE_RETURN_IF_ERROR(comm.AllReduce(View(table, at::kDouble), comm::ReduceOp::kSum));
    scores->ap.assign(langs, {});
    for (size_t l = 0; l < langs; ++l) {
      scores->ap[l].assign(table.begin() + l * n, table.begin() + (l + 1) * n);
      scores->ap_selected.push_back(TopN(scores->ap[l], options.top_n));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("profile: AP over the gang: ", e.what_without_backtrace()));
  }
  return scores;
}

}  // namespace nmoe::profiler
