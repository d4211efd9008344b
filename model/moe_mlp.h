// The MoE MLP of NeuronMoE step 3 (METHOD.md): n_l SwiGLU experts behind a router.
//
//   p_NE = softmax(router(x)) in fp32;  top-k experts per token (all when n_l <= k);
//   weights renormalised to sum 1;      y = sum over chosen e of w_e * FFN_e(x).
//
// Expert 0 is the original dense MLP (frozen by the trainer), experts 1..n_l-1 start as
// copies of it. Tokens are dispatched grouped by expert: the (token, slot) pairs are
// sorted by expert and each expert runs one matrix product over its own tokens (no
// dense pass of every token through every expert).
//
// LayerMoE's optional per-sequence router classifier (METHOD.md step 3; config key
// nmoe_classifier_layers): a bias-free linear map to {old, new} (class 0 = old) of the
// mean of the sequence's MLP inputs up to and including each token (valid tokens only;
// detached, so the classifier loss shapes only the classifier). The mean is the running
// sum scaled by 1 / count, which leaves the decision of a bias-free map unchanged and keeps
// its logits bounded; it is causal, so a token's routing never depends on later tokens.
// Tokens the classifier calls old use expert 0 alone (weight 1; the router is not used for
// them). While the trainer sets the tokens' true languages (set_forced_old), those decide
// instead of the prediction; the classifier is trained by the loss in moe_losses.h.
//
// Parameter names (under model.layers.{i}.mlp.):
//   router.weight                       [E, D]   bias-free
//   classifier.weight                   [2, D]   bias-free, only in classifier layers
//   experts.{e}.{gate,up}_proj.weight   [F, D]
//   experts.{e}.down_proj.weight        [D, F]
//
// Shape legend: B batch, T time, N = B*T tokens, D hidden, F intermediate, E experts,
// K chosen experts per token, S = N*K routed slots.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.h"
#include "model/hooks.h"
#include "model/linear.h"
#include "model/mlp.h"

namespace nmoe::model {

// What the last forward's router did, for the auxiliary losses (moe_losses.h) and
// routing statistics. Tensors are part of the autograd graph when grad mode was on.
struct RouterOutputs {
  at::Tensor logits_NE;   // fp32 router logits
  at::Tensor probs_NE;    // fp32 softmax
  at::Tensor experts_NK;  // int64 chosen experts, by decreasing probability
  at::Tensor mask_N;      // bool valid tokens; undefined = all valid
  int64_t num_experts = 0;
  // Classifier layers only (else undefined): fp32 logits (class 0 = old) and the tokens
  // sent to expert 0 alone, whose experts_NK rows are then all 0 (K slots at expert 0).
  at::Tensor classifier_logits_N2;
  at::Tensor expert0_only_N;
};

class MoeMlp : public FeedForward {
 public:
  MoeMlp(const ModelConfig& config, int64_t num_experts, int64_t top_k, const at::TensorOptions& options,
         bool sequence_classifier = false);

  // Copies `dense`'s weights into every expert and draws the router (and the
  // classifier) from Xavier-normal (std = sqrt(2 / (fan_in + fan_out))) with their own
  // generators seeded by `seed`.
  void UpcycleFrom(const SwiGluMlp& dense, uint64_t seed);

  // Hook points (the profiler's view of an MoE layer): the layer's gate_proj, up_proj
  // and down_proj are each token's routing-weighted sum over its chosen experts of that
  // expert's projection output, sum_k w_k out_{e_k}(x) (unchosen experts contribute 0;
  // gate before SiLU), fp32, (B,T,F) / (B,T,D): the same channels as a dense layer.
  // Computed only when the layer's hooks want them. Records RouterOutputs when routing
  // recording is on.
  at::Tensor Forward(const at::Tensor& x_BTD, const LayerContext& ctx) override;

  int64_t num_experts() const { return static_cast<int64_t>(experts_.size()); }
  int64_t top_k() const { return top_k_; }
  Linear& router() const { return *router_; }
  Linear* classifier() const { return classifier_.get(); }  // null without one

  // Classifier layers: the tokens' true old/new labels (bool or 0/1 per token, B*T
  // flattened) for the next forwards, replacing the classifier's prediction; an
  // undefined tensor returns to the prediction. Ignored without a classifier.
  void set_forced_old(const at::Tensor& old_N) { forced_old_N_ = old_N; }
  SwiGluMlp& expert(int64_t e) const { return *experts_.at(static_cast<size_t>(e)); }

  // Recording keeps the last forward's router tensors (and their graph) alive until the
  // next forward or ClearRouting(). Off by default.
  void set_record_routing(bool on) { record_routing_ = on; }
  const RouterOutputs& last_routing() const { return routing_; }
  void ClearRouting() { routing_ = RouterOutputs{}; }

 private:
  int64_t top_k_;
  bool record_routing_ = false;
  std::shared_ptr<Linear> router_;
  std::shared_ptr<Linear> classifier_;  // "classifier", null without one
  at::Tensor forced_old_N_;
  std::shared_ptr<torch::nn::Module> expert_list_;  // "experts"
  std::vector<std::shared_ptr<SwiGluMlp>> experts_;
  RouterOutputs routing_;
};

}  // namespace nmoe::model
