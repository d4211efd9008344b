// From collected state to scores and selections (METHOD.md step 1). Torch-free.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "profiler/lape.h"
#include "profiler/neuron_space.h"
#include "profiler/profile_state.h"
#include "profiler/response_store.h"

namespace nmoe::profiler {

// Everything one profiling run accumulated (profile_run.h fills it).
struct CollectedProfile {
  NeuronSpace space;
  std::vector<std::string> languages;  // label i = languages[i]
  bool ap = false, lape = false, similarity = false;
  std::unique_ptr<ResponseStore> responses;  // AP
  LapeCounts lape_counts;                    // LAPE
  SimilaritySums similarity_sums;            // layer similarity
  uint64_t tokens = 0;                       // real tokens profiled
  int64_t sentences = 0;
};

struct ScoreOptions {
  int64_t top_n = 1000;  // AP: neurons kept per language
  LapeOptions lape;
  int threads = 1;       // AP scoring threads
};

struct ProfileScores {
  std::vector<std::vector<double>> ap;           // [language][neuron]; empty without AP
  std::vector<std::vector<int64_t>> ap_selected;  // [language]: flat ids, best first
  std::optional<LapeResult> lape;
  // [layer][a * languages + b] = S_l(a, b); empty without similarity.
  std::vector<std::vector<double>> similarity;
};

// Reads the responses chunk by chunk (consuming an in-memory store). FAILED_PRECONDITION
// when a language has no sentence (AP is undefined without positives).
absl::StatusOr<ProfileScores> ScoreProfile(CollectedProfile& profile, const ScoreOptions& options);

}  // namespace nmoe::profiler
