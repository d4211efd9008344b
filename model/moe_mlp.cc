#include "model/moe_mlp.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace nmoe::model {

MoeMlp::MoeMlp(const ModelConfig& c, int64_t num_experts, int64_t top_k, const at::TensorOptions& options)
    : FeedForward("MoeMlp"), top_k_(top_k) {
  TORCH_CHECK(num_experts >= 1, "MoeMlp: num_experts must be >= 1, got ", num_experts);
  TORCH_CHECK(top_k >= 1, "MoeMlp: top_k must be >= 1, got ", top_k);
  router_ = register_module("router", std::make_shared<Linear>(c.hidden_size, num_experts, /*bias=*/false, options));
  expert_list_ = register_module("experts", std::make_shared<torch::nn::Module>("Experts"));
  for (int64_t e = 0; e < num_experts; ++e) {
    experts_.push_back(expert_list_->register_module(std::to_string(e), std::make_shared<SwiGluMlp>(c, options)));
  }
}

void MoeMlp::UpcycleFrom(const SwiGluMlp& dense, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto source = dense.named_parameters(/*recurse=*/true);
  for (const auto& expert : experts_) {
    auto target = expert->named_parameters(/*recurse=*/true);
    for (auto& item : target) item.value().copy_(source[item.key()]);
  }
  const int64_t fan_in = router_->weight_OI().size(1);
  const int64_t fan_out = router_->weight_OI().size(0);
  const double std = std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor draw = at::empty(router_->weight_OI().sizes(), at::kFloat);
  draw.normal_(0.0, std, gen);
  at::Tensor w = router_->weight_OI();
  w.copy_(draw);
}

at::Tensor MoeMlp::Forward(const at::Tensor& x_BTD, const LayerContext& ctx) {
  const int64_t D = x_BTD.size(-1);
  const at::Tensor x_ND = x_BTD.reshape({-1, D});
  const int64_t E = num_experts();
  const int64_t K = std::min(top_k_, E);

  // Routing in fp32 whatever the compute dtype.
  const at::Tensor logits_NE = at::matmul(x_ND.to(at::kFloat), router_->weight_OI().to(at::kFloat).t());
  const at::Tensor probs_NE = at::softmax(logits_NE, /*dim=*/-1);
  auto [top_NK, experts_NK] = probs_NE.topk(K, /*dim=*/-1);
  const at::Tensor weights_NK = top_NK / top_NK.sum(-1, /*keepdim=*/true);

  // Group the N*K slots by expert: a stable sort keeps token order within an expert.
  const at::Tensor expert_S = experts_NK.reshape({-1});
  auto [sorted_S, slot_order_S] = expert_S.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
  const at::Tensor token_of_slot_S = slot_order_S.div(K, "floor");
  const at::Tensor slot_weight_S = weights_NK.reshape({-1}).index_select(0, slot_order_S);
  const at::Tensor counts_E = at::bincount(expert_S, /*weights=*/{}, /*minlength=*/E).to(at::kLong).cpu();
  const int64_t* counts = counts_E.data_ptr<int64_t>();

  LayerContext expert_ctx;  // experts' projections are not hook points
  expert_ctx.layer = ctx.layer;
  at::Tensor out_ND = at::zeros_like(x_ND);
  int64_t offset = 0;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t count = counts[e];
    if (count == 0) continue;
    const at::Tensor tokens_C = token_of_slot_S.narrow(0, offset, count);
    const at::Tensor w_C1 = slot_weight_S.narrow(0, offset, count).unsqueeze(1);
    offset += count;
    const at::Tensor y_CD = experts_[static_cast<size_t>(e)]->Forward(x_ND.index_select(0, tokens_C), expert_ctx);
    out_ND = out_ND.index_add(0, tokens_C, (y_CD.to(at::kFloat) * w_C1).to(out_ND.scalar_type()));
  }

  if (record_routing_) {
    routing_.logits_NE = logits_NE;
    routing_.probs_NE = probs_NE;
    routing_.experts_NK = experts_NK;
    routing_.mask_N = ctx.mask_BT.defined() ? ctx.mask_BT.reshape({-1}).to(at::kBool) : at::Tensor();
    routing_.num_experts = E;
  }
  return out_ND.view(x_BTD.sizes());
}

}  // namespace nmoe::model
