#include "model/mlp.h"

#include <ATen/ops/silu.h>

namespace nmoe::model {

SwiGluMlp::SwiGluMlp(const ModelConfig& c, const at::TensorOptions& options) : FeedForward("SwiGluMlp") {
  const bool bias = c.mlp_has_bias();
  gate_proj_ =
      register_module("gate_proj", std::make_shared<Linear>(c.hidden_size, c.intermediate_size, bias, options));
  up_proj_ = register_module("up_proj", std::make_shared<Linear>(c.hidden_size, c.intermediate_size, bias, options));
  down_proj_ =
      register_module("down_proj", std::make_shared<Linear>(c.intermediate_size, c.hidden_size, bias, options));
}

at::Tensor SwiGluMlp::Forward(const at::Tensor& x_BTD, const LayerContext& ctx) {
  const at::Tensor gate_BTF = gate_proj_->Forward(x_BTD);
  ctx.Emit(Component::kGateProj, gate_BTF);
  const at::Tensor up_BTF = up_proj_->Forward(x_BTD);
  ctx.Emit(Component::kUpProj, up_BTF);
  at::Tensor down_BTD = down_proj_->Forward(at::silu(gate_BTF) * up_BTF);
  ctx.Emit(Component::kDownProj, down_BTD);
  return down_BTD;
}

}  // namespace nmoe::model
