#include "model/moe_losses.h"

#include <torch/csrc/autograd/grad_mode.h>

namespace nmoe::model {
namespace {

// Valid-token mask as fp32 (N), all ones when the routing has none.
at::Tensor ValidWeights(const RouterOutputs& r) {
  const int64_t n = r.probs_NE.size(0);
  if (!r.mask_N.defined()) return at::ones({n}, r.probs_NE.options());
  return r.mask_N.to(at::kFloat);
}

// The tokens the router chose experts for: valid and not sent to expert 0 alone by a
// sequence classifier, as fp32 (N).
at::Tensor RoutedWeights(const RouterOutputs& r) {
  const at::Tensor valid_N = ValidWeights(r);
  if (!r.expert0_only_N.defined()) return valid_N;
  return valid_N * r.expert0_only_N.logical_not().to(at::kFloat);
}

}  // namespace

at::Tensor SwitchBalanceLoss(const RouterOutputs& r) {
  TORCH_CHECK(r.probs_NE.defined(), "SwitchBalanceLoss: no routing recorded");
  const at::Tensor valid_N = RoutedWeights(r);
  const at::Tensor count = valid_N.sum();
  if (count.item<float>() == 0.0f) return at::zeros({}, r.probs_NE.options());
  const int64_t E = r.num_experts;
  const int64_t K = r.experts_NK.size(1);
  at::Tensor f_E;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor slot_weight_NK = valid_N.unsqueeze(1).expand({-1, K});
    f_E = at::zeros({E}, r.probs_NE.options())
              .index_add(0, r.experts_NK.reshape({-1}), slot_weight_NK.reshape({-1}).contiguous()) /
          (count * static_cast<double>(K));
  }
  const at::Tensor p_E = (r.probs_NE * valid_N.unsqueeze(1)).sum(0) / count;
  return static_cast<double>(E) * (f_E * p_E).sum();
}

at::Tensor LprLoss(const RouterOutputs& r, const at::Tensor& old_N) {
  TORCH_CHECK(r.logits_NE.defined(), "LprLoss: no routing recorded");
  TORCH_CHECK(old_N.numel() == r.logits_NE.size(0), "LprLoss: old_N has ", old_N.numel(), " entries for ",
              r.logits_NE.size(0), " tokens");
  const at::Tensor weight_N = old_N.reshape({-1}).to(at::kFloat) * RoutedWeights(r);
  const at::Tensor count = weight_N.sum();
  if (count.item<float>() == 0.0f) return at::zeros({}, r.logits_NE.options());
  const at::Tensor nll_N = -at::log_softmax(r.logits_NE, /*dim=*/-1).select(1, 0);
  return (nll_N * weight_N).sum() / count;
}

at::Tensor RouterZLoss(const RouterOutputs& r) {
  TORCH_CHECK(r.logits_NE.defined(), "RouterZLoss: no routing recorded");
  const at::Tensor valid_N = RoutedWeights(r);
  const at::Tensor count = valid_N.sum();
  if (count.item<float>() == 0.0f) return at::zeros({}, r.logits_NE.options());
  const at::Tensor z_N = at::logsumexp(r.logits_NE, /*dim=*/{-1});
  return (z_N * z_N * valid_N).sum() / count;
}

at::Tensor SequenceClassifierLoss(const RouterOutputs& r, const at::Tensor& old_N) {
  TORCH_CHECK(r.classifier_logits_N2.defined(), "SequenceClassifierLoss: the layer has no classifier output");
  TORCH_CHECK(old_N.numel() == r.classifier_logits_N2.size(0), "SequenceClassifierLoss: old_N has ", old_N.numel(),
              " entries for ", r.classifier_logits_N2.size(0), " tokens");
  const at::Tensor valid_N = ValidWeights(r);
  const at::Tensor count = valid_N.sum();
  if (count.item<float>() == 0.0f) return at::zeros({}, r.classifier_logits_N2.options());
  const at::Tensor logp_N2 = at::log_softmax(r.classifier_logits_N2, /*dim=*/-1);
  const at::Tensor old_f_N = old_N.reshape({-1}).to(at::kFloat);
  const at::Tensor nll_N = -(logp_N2.select(1, 0) * old_f_N + logp_N2.select(1, 1) * (1.0 - old_f_N));
  return (nll_N * valid_N).sum() / count;
}

std::vector<MoeMlp*> MoeLayers(const CausalLm& model) {
  std::vector<MoeMlp*> out;
  for (int64_t i = 0; i < model.num_layers(); ++i) {
    if (auto* moe = dynamic_cast<MoeMlp*>(&model.layer(i).mlp())) out.push_back(moe);
  }
  return out;
}

}  // namespace nmoe::model
