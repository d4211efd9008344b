#include "profiler/scoring.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "profiler/selection.h"

namespace nmoe::profiler {

absl::StatusOr<ProfileScores> ScoreProfile(CollectedProfile& profile, const ScoreOptions& options) {
  ProfileScores out;
  const size_t langs = profile.languages.size();
  const size_t n = static_cast<size_t>(profile.space.size());
  if (profile.ap) {
    if (profile.responses == nullptr) return absl::FailedPreconditionError("profile: no responses collected");
    out.ap.assign(langs, std::vector<double>(n, 0.0));
    for (int64_t c = 0; c < profile.responses->num_chunks(); ++c) {
      NMOE_ASSIGN_OR_RETURN(ResponseRows rows, profile.responses->ReadChunk(c));
      if (c == 0) {
        std::vector<size_t> per(langs, 0);
        for (int32_t l : rows.labels) ++per[static_cast<size_t>(l)];
        for (size_t l = 0; l < langs; ++l) {
          if (per[l] == 0) {
            return absl::FailedPreconditionError(
                absl::StrCat("profile: language ", profile.languages[l], " has no sentence; AP needs positives"));
          }
        }
      }
      ScoreAp(rows, static_cast<int32_t>(langs), options.threads, &out.ap);
    }
    for (size_t l = 0; l < langs; ++l) out.ap_selected.push_back(TopN(out.ap[l], options.top_n));
  }
  if (profile.lape) {
    NMOE_ASSIGN_OR_RETURN(LapeResult r, ScoreLape(profile.lape_counts.counts, profile.lape_counts.tokens, options.lape));
    out.lape = std::move(r);
  }
  if (profile.similarity) {
    const SimilaritySums& s = profile.similarity_sums;
    out.similarity.assign(static_cast<size_t>(s.num_layers), std::vector<double>(langs * langs, 0.0));
    for (int64_t l = 0; l < s.num_layers; ++l) {
      for (size_t a = 0; a < langs; ++a) {
        for (size_t b = 0; b < langs; ++b) {
          out.similarity[static_cast<size_t>(l)][a * langs + b] =
              s.Similarity(l, static_cast<int64_t>(a), static_cast<int64_t>(b));
        }
      }
    }
  }
  return out;
}

}  // namespace nmoe::profiler
