// Auxiliary losses of the MoE layers (METHOD.md step 3), computed from a layer's
// recorded RouterOutputs (MoeMlp::set_record_routing). Padding tokens (mask_N false)
// never count, nor, in the router's losses, tokens a sequence classifier sent to expert 0
// alone (expert0_only_N: the router did not route them). Every loss is an fp32 scalar in
// the autograd graph of the router (or of the classifier).
//
// Shape legend: N tokens, E experts, K chosen per token.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "model/causal_lm.h"
#include "model/moe_mlp.h"

namespace nmoe::model {

// Switch Transformer load balancing: E * sum_e f_e * P_e, where f_e is the fraction of
// the valid tokens' routed slots (N*K) that went to expert e (not differentiable) and
// P_e the mean router probability of e over valid tokens. 1.0 when perfectly balanced.
// 0 when no token is valid.
at::Tensor SwitchBalanceLoss(const RouterOutputs& routing);

// Language-preserving routing (MoE-LPR, stage 2): the mean over valid tokens with
// old_N true of -log p_0, the cross-entropy of the router's distribution against
// expert 0. `old_N` is bool/0-1 per token (B*T flattened like the router's N).
// 0 when there is no such token.
at::Tensor LprLoss(const RouterOutputs& routing, const at::Tensor& old_N);

// Router z-loss (ST-MoE): mean over valid tokens of logsumexp(logits)^2.
at::Tensor RouterZLoss(const RouterOutputs& routing);

// LayerMoE's sequence classifier: the mean over valid tokens of the cross-entropy of
// classifier_logits_N2 against the token's label (class 0 where old_N is true, else 1).
// Requires a classifier layer's routing. 0 when no token is valid.
at::Tensor SequenceClassifierLoss(const RouterOutputs& routing, const at::Tensor& old_N);

// The model's MoE layers in layer order (layers whose MLP is an MoeMlp).
std::vector<MoeMlp*> MoeLayers(const CausalLm& model);

}  // namespace nmoe::model
