#include "profiler/response_store.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "profiler/average_precision.h"

namespace nmoe::profiler {
namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<ResponseStore>> ResponseStore::Create(int64_t neurons, int64_t expected_rows,
                                                                     uint64_t budget_bytes, fs::path spill_dir) {
  if (neurons <= 0 || expected_rows < 0) {
    return absl::InvalidArgumentError(absl::StrCat("responses: ", neurons, " neurons, ", expected_rows, " rows"));
  }
  std::unique_ptr<ResponseStore> s(new ResponseStore());
  s->neurons_ = neurons;
  const uint64_t row_bytes = static_cast<uint64_t>(std::max<int64_t>(expected_rows, 1)) * sizeof(float);
  const uint64_t total = row_bytes * static_cast<uint64_t>(neurons);
  if (total <= budget_bytes) {
    s->bounds_ = {0, neurons};
    s->memory_.reserve(static_cast<size_t>(expected_rows * neurons));
    return s;
  }
  const int64_t width = std::max<int64_t>(1, static_cast<int64_t>(budget_bytes / row_bytes));
  for (int64_t b = 0; b < neurons; b += width) s->bounds_.push_back(b);
  s->bounds_.push_back(neurons);
  std::error_code ec;
  fs::create_directories(spill_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("responses: cannot create ", spill_dir.string(), ": ", ec.message()));
  const fs::space_info space = fs::space(spill_dir, ec);
  if (!ec && space.available < total) {
    return absl::FailedPreconditionError(absl::StrCat(
        "responses: ", total / (1 << 20), " MiB of responses exceed the memory budget (", budget_bytes / (1 << 20),
        " MiB) and the free space under ", spill_dir.string(), " (", space.available / (1 << 20),
        " MiB); shard the job over more workers or free disk space"));
  }
  s->dir_ = spill_dir;
  for (int64_t c = 0; c + 1 < static_cast<int64_t>(s->bounds_.size()); ++c) {
    const fs::path p = spill_dir / absl::StrFormat("responses-%05d.f32", c);
    std::FILE* f = std::fopen(p.c_str(), "w+b");
    if (f == nullptr) return absl::InternalError(absl::StrCat("responses: cannot open ", p.string()));
    s->files_.push_back(f);
  }
  return s;
}

ResponseStore::~ResponseStore() {
  for (std::FILE* f : files_) std::fclose(f);
  if (!dir_.empty()) {
    std::error_code ec;
    for (int64_t c = 0; c < num_chunks(); ++c) fs::remove(dir_ / absl::StrFormat("responses-%05d.f32", c), ec);
  }
}

absl::Status ResponseStore::Append(int64_t sentence_id, int32_t label, const float* row) {
  sentence_ids_.push_back(sentence_id);
  labels_.push_back(label);
  if (!spilled()) {
    memory_.insert(memory_.end(), row, row + neurons_);
    return absl::OkStatus();
  }
  for (int64_t c = 0; c < num_chunks(); ++c) {
    const size_t n = static_cast<size_t>(chunk_end(c) - chunk_begin(c));
    if (std::fwrite(row + chunk_begin(c), sizeof(float), n, files_[static_cast<size_t>(c)]) != n) {
      return absl::ResourceExhaustedError(absl::StrCat("responses: write to ", dir_.string(), " failed (disk full?)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ResponseRows> ResponseStore::ReadChunk(int64_t c) {
  if (c < 0 || c >= num_chunks()) return absl::OutOfRangeError(absl::StrCat("responses: no chunk ", c));
  ResponseRows out;
  out.neuron_begin = chunk_begin(c);
  out.neuron_end = chunk_end(c);
  out.sentence_ids = sentence_ids_;
  out.labels = labels_;
  if (!spilled()) {
    out.values = std::move(memory_);
    memory_.clear();
    return out;
  }
  std::FILE* f = files_[static_cast<size_t>(c)];
  const size_t n = rows() * static_cast<size_t>(out.width());
  out.values.resize(n);
  if (std::fflush(f) != 0 || std::fseek(f, 0, SEEK_SET) != 0 ||
      std::fread(out.values.data(), sizeof(float), n, f) != n) {
    return absl::InternalError(absl::StrCat("responses: cannot read back chunk ", c, " from ", dir_.string()));
  }
  return out;
}

void ScoreAp(const ResponseRows& rows, int32_t num_languages, int threads, std::vector<std::vector<double>>* ap) {
  const int64_t w = rows.width();
  const size_t n = rows.rows();
  threads = std::max(1, std::min<int>(threads, static_cast<int>(std::max<int64_t>(w, 1))));
  auto work = [&](int64_t begin, int64_t end) {
    OneVsRestAp scorer(rows.labels, num_languages);
    constexpr int64_t kBlock = 16;
    std::vector<float> columns(static_cast<size_t>(kBlock) * n);
    std::vector<double> out(static_cast<size_t>(num_languages));
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t m = std::min(kBlock, end - b);
      for (size_t r = 0; r < n; ++r) {
        const float* src = rows.values.data() + r * static_cast<size_t>(w) + b;
        for (int64_t j = 0; j < m; ++j) columns[static_cast<size_t>(j) * n + r] = src[j];
      }
      for (int64_t j = 0; j < m; ++j) {
        scorer.Score(columns.data() + static_cast<size_t>(j) * n, out.data());
        const size_t flat = static_cast<size_t>(rows.neuron_begin + b + j);
        for (int32_t l = 0; l < num_languages; ++l) (*ap)[static_cast<size_t>(l)][flat] = out[static_cast<size_t>(l)];
      }
    }
  };
  std::vector<std::thread> pool;
  const int64_t per = (w + threads - 1) / threads;
  for (int t = 1; t < threads; ++t) {
    const int64_t b = std::min<int64_t>(w, t * per), e = std::min<int64_t>(w, (t + 1) * per);
    if (b < e) pool.emplace_back(work, b, e);
  }
  work(0, std::min<int64_t>(w, per));
  for (auto& t : pool) t.join();
}

}  // namespace nmoe::profiler
