// Routing statistics of an MoE model (docs/training.md, "Evaluation"): where each MoE
// layer (n_l >= 2) sends tokens, counted as (token, slot) pairs, so a token routed with
// top-k counts k times, once per chosen expert. Padding tokens (the router's mask_N
// false) never count.
//
// Used by the evaluate job (counts per held-out language -> v1::LayerRouting) and by the
// train loop's metrics (token share per expert, dead experts).
//
// Shape legend: N tokens, E experts, K chosen experts per token.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/causal_lm.h"
#include "model/moe_mlp.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe::trainer {

// Per expert, the number of (token, slot) pairs of `experts_NK` whose token is valid
// (`mask_N` undefined = all valid). Size `num_experts`. INVALID_ARGUMENT for an expert
// index outside [0, num_experts).
absl::StatusOr<std::vector<uint64_t>> CountAssignments(const at::Tensor& experts_NK, const at::Tensor& mask_N,
                                                       int64_t num_experts);

// Assignment counts of one MoE layer, per group (the evaluated language). A token that
// a sequence classifier sent to expert 0 alone counts top_k pairs at expert 0.
struct LayerRoutingCounts {
  int64_t layer = 0;  // decoder layer index
  int64_t num_experts = 0;
  int64_t top_k = 0;  // effective: min(router top-k, num_experts)
  bool has_classifier = false;
  std::map<std::string, std::vector<uint64_t>> by_group;
  // Classifier layers: per group, the valid tokens the classifier sent to expert 0 alone.
  std::map<std::string, uint64_t> classifier_old;
};

// Adds one forward's routing of a layer (`routing`, as MoeMlp records it) to `counts`
// under `group`.
absl::Status AddRouting(const model::RouterOutputs& routing, const std::string& group, LayerRoutingCounts& counts);

// Accumulates the routing of every MoE layer of a model over forward passes.
class RoutingCounter {
 public:
  // Turns routing recording on in every MoE layer of `model` (which must outlive this
  // counter); the destructor turns it off and drops the recorded tensors.
  explicit RoutingCounter(model::CausalLm& model);
  ~RoutingCounter();
  RoutingCounter(const RoutingCounter&) = delete;
  RoutingCounter& operator=(const RoutingCounter&) = delete;

  // True for a dense model (nothing to count).
  bool empty() const { return layers_.empty(); }
  // Adds the last forward's choices of every MoE layer to `group`. INTERNAL when a
  // layer recorded nothing (no forward since construction).
  absl::Status Accumulate(const std::string& group);
  const std::vector<LayerRoutingCounts>& counts() const { return counts_; }

 private:
  std::vector<model::MoeMlp*> layers_;
  std::vector<LayerRoutingCounts> counts_;
};

// v1::LayerRouting per counted layer: per expert the assignments over all groups, the
// token share (assignments / the layer's assignments) overall and within each group;
// old_language_expert0_share = the share of the tokens of the groups named in
// `old_languages` whose top-k choices include expert 0 (the frozen original MLP): its
// pairs there x top_k / their pairs, so 1 when n_l <= k (every token uses every expert);
// set only when that list is non-empty and those groups have pairs;
// dead_experts = experts with no assignment in any group; classifier layers also get
// classifier_old_share per group. Shares are 0 when the denominator is 0.
std::vector<v1::LayerRouting> RoutingProtos(const std::vector<LayerRoutingCounts>& counts,
                                            const std::vector<std::string>& old_languages);

}  // namespace nmoe::trainer
