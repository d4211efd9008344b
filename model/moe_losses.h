// Auxiliary losses of the MoE layers (METHOD.md step 3), computed from a layer's
// recorded RouterOutputs (MoeMlp::set_record_routing). Padding tokens (mask_N false)
// never count. Every loss is an fp32 scalar in the autograd graph of the router.
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

// The model's MoE layers in layer order (layers whose MLP is an MoeMlp).
std::vector<MoeMlp*> MoeLayers(const CausalLm& model);

}  // namespace nmoe::model
