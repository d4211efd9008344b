#include "model/moe_mlp.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

namespace nmoe::model {
namespace {

// Receives one expert's gate/up/down outputs inside MoeMlp::Forward (only when the
// layer's hooks want some of them).
class ExpertCapture final : public ActivationHooks {
 public:
  ExpertCapture(int64_t layer, const ActivationHooks& outer) : ActivationHooks(HookMask(layer + 1)) {
    for (Component c : {Component::kGateProj, Component::kUpProj, Component::kDownProj}) {
      if (outer.Wants(layer, c)) mask_.Set(layer, c);
    }
  }
  static int Slot(Component c) { return static_cast<int>(c) - static_cast<int>(Component::kGateProj); }
  bool any() const { return mask_.AnyInLayer(mask_.num_layers() - 1); }
  void OnActivation(int64_t, Component c, const at::Tensor& out_CX) override { captured[Slot(c)] = out_CX; }
  at::Tensor captured[3];  // gate, up, down of the last expert run
};

// Xavier-normal init of a [fan_out, fan_in] weight from its own generator.
void XavierNormal(const at::Tensor& w, uint64_t seed) {
  const double std = std::sqrt(2.0 / static_cast<double>(w.size(0) + w.size(1)));
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor draw = at::empty(w.sizes(), at::kFloat);
  draw.normal_(0.0, std, gen);
  at::Tensor target = w;
  target.copy_(draw);
}

// The mean of each sequence's valid rows of x up to and including each position, fp32,
// flattened to (B*T, D); padding rows see the mean of the valid tokens before them.
at::Tensor CausalMean(const at::Tensor& x_BTD, const at::Tensor& mask_BT) {
  const at::Tensor x = x_BTD.detach().to(at::kFloat);
  const at::Tensor m_BT1 = mask_BT.defined() ? mask_BT.to(at::kFloat).unsqueeze(-1)
                                             : at::ones({x.size(0), x.size(1), 1}, x.options());
  const at::Tensor sum_BTD = (x * m_BT1).cumsum(/*dim=*/1);
  const at::Tensor count_BT1 = m_BT1.cumsum(/*dim=*/1).clamp_min(1.0);
  return (sum_BTD / count_BT1).reshape({-1, x.size(-1)});
}

}  // namespace

MoeMlp::MoeMlp(const ModelConfig& c, int64_t num_experts, int64_t top_k, const at::TensorOptions& options,
               bool sequence_classifier)
    : FeedForward("MoeMlp"), top_k_(top_k) {
  TORCH_CHECK(num_experts >= 1, "MoeMlp: num_experts must be >= 1, got ", num_experts);
  TORCH_CHECK(top_k >= 1, "MoeMlp: top_k must be >= 1, got ", top_k);
  router_ = register_module("router", std::make_shared<Linear>(c.hidden_size, num_experts, /*bias=*/false, options));
  expert_list_ = register_module("experts", std::make_shared<torch::nn::Module>("Experts"));
  for (int64_t e = 0; e < num_experts; ++e) {
    experts_.push_back(expert_list_->register_module(std::to_string(e), std::make_shared<SwiGluMlp>(c, options)));
  }
  if (sequence_classifier) {
    classifier_ = register_module("classifier", std::make_shared<Linear>(c.hidden_size, 2, /*bias=*/false, options));
  }
}

void MoeMlp::UpcycleFrom(const SwiGluMlp& dense, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto source = dense.named_parameters(/*recurse=*/true);
  for (const auto& expert : experts_) {
    auto target = expert->named_parameters(/*recurse=*/true);
    for (auto& item : target) item.value().copy_(source[item.key()]);
  }
  XavierNormal(router_->weight_OI(), seed);
  if (classifier_) XavierNormal(classifier_->weight_OI(), seed ^ 0x9e3779b97f4a7c15ull);
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
  at::Tensor weights_NK = top_NK / top_NK.sum(-1, /*keepdim=*/true);

  // The sequence classifier: tokens called old go to expert 0 alone (slot 0, weight 1);
  // their other slots are dropped from the dispatch.
  at::Tensor classifier_logits_N2, expert0_only_N, kept_slots_S;
  if (classifier_) {
    classifier_logits_N2 =
        at::matmul(CausalMean(x_BTD, ctx.mask_BT), classifier_->weight_OI().to(at::kFloat).t());
    expert0_only_N = forced_old_N_.defined()
                         ? forced_old_N_.reshape({-1}).to(at::kBool)
                         : classifier_logits_N2.select(1, 0).gt(classifier_logits_N2.select(1, 1));
    TORCH_CHECK(expert0_only_N.numel() == x_ND.size(0), "MoeMlp: forced old labels have ", expert0_only_N.numel(),
                " entries for ", x_ND.size(0), " tokens");
    const at::Tensor old_N1 = expert0_only_N.unsqueeze(1);
    const at::Tensor first_1K = at::arange(K, experts_NK.options()).eq(0).unsqueeze(0);
    experts_NK = at::where(old_N1, at::zeros_like(experts_NK), experts_NK);
    weights_NK = at::where(old_N1, first_1K.to(weights_NK.scalar_type()).expand_as(weights_NK), weights_NK);
    kept_slots_S = old_N1.logical_not().logical_or(first_1K).reshape({-1}).nonzero().squeeze(1);
  }

  // Group the slots by expert: a stable sort keeps token order within an expert.
  at::Tensor expert_S = experts_NK.reshape({-1});
  if (kept_slots_S.defined()) expert_S = expert_S.index_select(0, kept_slots_S);
  auto [sorted_S, order_S] = expert_S.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
  const at::Tensor slot_order_S = kept_slots_S.defined() ? kept_slots_S.index_select(0, order_S) : order_S;
  const at::Tensor token_of_slot_S = slot_order_S.div(K, "floor");
  const at::Tensor slot_weight_S = weights_NK.reshape({-1}).index_select(0, slot_order_S);
  const at::Tensor counts_E = at::bincount(expert_S, /*weights=*/{}, /*minlength=*/E).to(at::kLong).cpu();
  const int64_t* counts = counts_E.data_ptr<int64_t>();

  // Hooks on the layer's gate/up/down see the routing-weighted sum of the chosen
  // experts' outputs (fp32): accumulated like the output, only when wanted.
  LayerContext expert_ctx;
  expert_ctx.layer = ctx.layer;
  std::unique_ptr<ExpertCapture> capture;
  at::Tensor mixed_NX[3];
  if (ctx.hooks != nullptr) {
    capture = std::make_unique<ExpertCapture>(ctx.layer, *ctx.hooks);
    if (capture->any()) {
      expert_ctx.hooks = capture.get();
    } else {
      capture.reset();
    }
  }
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
    if (capture) {
      for (int i = 0; i < 3; ++i) {
        at::Tensor& got_CX = capture->captured[i];
        if (!got_CX.defined()) continue;
        if (!mixed_NX[i].defined()) mixed_NX[i] = at::zeros({x_ND.size(0), got_CX.size(-1)}, x_ND.options().dtype(at::kFloat));
        mixed_NX[i] = mixed_NX[i].index_add(0, tokens_C, got_CX.to(at::kFloat) * w_C1);
        got_CX = at::Tensor();
      }
    }
  }
  if (capture) {
    const Component order[3] = {Component::kGateProj, Component::kUpProj, Component::kDownProj};
    for (int i = 0; i < 3; ++i) {
      if (!mixed_NX[i].defined()) continue;
      ctx.Emit(order[i], mixed_NX[i].view({x_BTD.size(0), x_BTD.size(1), mixed_NX[i].size(-1)}));
    }
  }

  if (record_routing_) {
    routing_.logits_NE = logits_NE;
    routing_.probs_NE = probs_NE;
    routing_.experts_NK = experts_NK;
    routing_.mask_N = ctx.mask_BT.defined() ? ctx.mask_BT.reshape({-1}).to(at::kBool) : at::Tensor();
    routing_.num_experts = E;
    routing_.classifier_logits_N2 = classifier_logits_N2;
    routing_.expert0_only_N = expert0_only_N;
  }
  return out_ND.view(x_BTD.sizes());
}

}  // namespace nmoe::model
