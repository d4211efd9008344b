// Building the MoE model of NeuronMoE step 3 from a dense base and a plan, and choosing
// which of its parameters a stage trains (METHOD.md; docs/training.md, "MoE training").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "model/causal_lm.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe::trainer {

// A model with `experts_per_layer` (n_l per layer, layer 0 first) and router top-k
// `top_k`: every weight copied from `base`; in each layer with n_l >= 2 every expert
// starts as a copy of the base MLP and the router is Xavier-normal, seeded from
// (seed, layer); the layers in `classifier_layers` also get LayerMoE's sequence
// classifier (model/moe_mlp.h), Xavier-normal. INVALID_ARGUMENT when the plan's layer
// count differs from the model's, an n_l is < 1, or a classifier layer is not an MoE
// layer.
absl::StatusOr<std::shared_ptr<model::CausalLm>> BuildMoeModel(const model::CausalLm& base,
                                                               const std::vector<int64_t>& experts_per_layer,
                                                               int64_t top_k, uint64_t seed,
                                                               const std::vector<int64_t>& classifier_layers = {});

// Sets requires_grad on exactly the parameters `trainable` names and returns them:
//   EXPERTS_AND_ROUTERS (or unspecified): experts 1..n_l-1 and the routers (and
//     sequence classifiers) of the MoE layers; expert 0 (the original MLP) and
//     everything outside the MoE layers frozen;
//   ROUTERS: the routers and sequence classifiers only;
//   ALL: every parameter (dense training).
// INVALID_ARGUMENT when the set is empty (a dense model with an MoE-only stage).
absl::StatusOr<std::vector<at::Tensor>> SelectTrainable(model::CausalLm& model, v1::Trainable trainable);

}  // namespace nmoe::trainer
