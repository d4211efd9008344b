// The "lape" criterion (Tang et al., ACL 2024; METHOD.md step 1). Torch-free.
//
// For neuron u and language L: p[L][u] = tokens of L where u's output is > 0, divided
// by L's tokens. q = p normalised over languages; LAPE_u = -sum_L q log q (0 log 0 = 0).
// The threshold is the `percentile`-th percentile of all p values (every neuron and
// language), taken as the reference implementation does: the k-th smallest value with
// k = round(n * percentile / 100), clamped to [1, n]. A neuron none of whose p exceeds
// the threshold has entropy +inf and is never selected. The lowest-entropy
// round(N * top_fraction) neurons with finite entropy are selected (ties: lower flat
// index first); a selected neuron belongs to every language whose p exceeds the
// threshold.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::profiler {

struct LapeOptions {
  double percentile = 95.0;    // (0, 100]
  double top_fraction = 0.01;  // (0, 1]
};

struct LapeResult {
  std::vector<double> entropy;           // per neuron; +inf when filtered out
  std::vector<std::vector<double>> prob;  // [language][neuron] = p
  double threshold = 0;
  // Per language: its selected neurons (flat ids), by increasing entropy.
  std::vector<std::vector<int64_t>> selected;
  int64_t selected_neurons = 0;  // distinct selected neurons
};

// counts[L] has one count per neuron; tokens[L] is L's token count (0 gives p = 0).
// INVALID_ARGUMENT for mismatched sizes or options out of range.
absl::StatusOr<LapeResult> ScoreLape(const std::vector<std::vector<uint64_t>>& counts,
                                     const std::vector<uint64_t>& tokens, const LapeOptions& options);

}  // namespace nmoe::profiler
