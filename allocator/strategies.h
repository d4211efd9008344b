// The allocation rules of METHOD.md step 2 as pure functions over per-layer
// numbers (layer 0 first). No I/O, no protos: allocator/inputs.h turns files and
// profile summaries into these inputs, allocator/plan_builder.h makes a v1::Plan.
//
// Every function returns INVALID_ARGUMENT, naming the layer, for input it
// cannot allocate from; docs/allocation.md states each rule with its edge cases.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::allocator {

inline constexpr uint32_t kDefaultMaxExperts = 6;   // N_max
inline constexpr uint32_t kDefaultBudget = 70;      // B
inline constexpr uint32_t kDefaultTopK = 2;         // experts per token

// Experts per layer (n_l, counting the frozen original; 1 = dense) and the
// score each layer's count came from (C_l, S_l; empty for uniform/manual).
struct LayerAllocation {
  std::vector<uint32_t> experts;
  std::vector<double> scores;
};

// NeuronMoE. `high[l][h]` / `low[l][j]`: selected neurons of high-resource
// language h / low-resource language j in layer l (distinct (component, index)
// pairs). C_l = mean_h high + mean_j low (one HR language: |U_HR(l)| + mean).
// n_l = 1 if C_l = 0, else clip(1 + floor((C_l - C_min) / (C_max - C_min) *
// (N_max - 1)), 1, N_max), C_min over layers with C_l > 0, computed in exact
// integer arithmetic (no floating-point rounding at the floor). When every
// layer with C_l > 0 has the same C_l, those layers get N_max.
absl::StatusOr<LayerAllocation> NeuronGuided(const std::vector<std::vector<uint64_t>>& high,
                                             const std::vector<std::vector<uint64_t>>& low,
                                             uint32_t max_experts);

// LayerMoE. `scores[l]` = S_l (> 0). U_l = 1 / S_l; N_l = ceil(U_l / sum_j U_j * B).
// A product within 1e-9 (relative) of an integer counts as that integer, so
// floating-point noise never adds an expert.
absl::StatusOr<LayerAllocation> LayerSimilarity(const std::vector<double>& scores, uint32_t budget);

// S_l from pairwise similarities: 1/2 [mean over new-new pairs + mean over
// new-old pairs]; with one new language (no new-new pair) the new-old mean
// alone (N_l does not depend on the scale of S_l).
double LayerSimilarityScore(const std::vector<double>& new_new, const std::vector<double>& new_old);

// The same count in every layer.
absl::StatusOr<LayerAllocation> Uniform(uint32_t num_layers, uint32_t experts);

// The counts as given (each >= 1).
absl::StatusOr<LayerAllocation> Manual(const std::vector<uint32_t>& experts);

// Caps sum_l n_l at `total_budget` (0 = no cap): while over, one expert is taken
// from the layer with the most experts; ties go to the lowest `priority` (the
// layer with the least evidence for experts), then to the highest layer index.
// No layer goes below 1: a budget under the number of layers is INVALID_ARGUMENT.
absl::StatusOr<std::vector<uint32_t>> ApplyTotalBudget(std::vector<uint32_t> experts,
                                                       const std::vector<double>& priority,
                                                       uint32_t total_budget);

// sum_l n_l: the paper's "experts in total" (49 for NeuronMoE, 84 for LayerMoE).
uint64_t TotalExperts(const std::vector<uint32_t>& experts);

// sum_l (n_l - 1) x 3 x hidden x intermediate: the parameters the new experts add.
uint64_t AddedParameters(const std::vector<uint32_t>& experts, uint64_t hidden, uint64_t intermediate);

}  // namespace nmoe::allocator
