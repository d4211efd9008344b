// The MLP slot of a decoder layer and its dense SwiGLU implementation.
//
// A layer holds its MLP as a FeedForward registered under the name "mlp", so a later
// module with the same signature (an MoE layer) can replace it with
// DecoderLayer::ReplaceMlp and keep the checkpoint names of everything else.
//
// Shape legend: B batch, T time, D hidden, F intermediate.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>

#include "model/config.h"
#include "model/hooks.h"
#include "model/linear.h"

namespace nmoe::model {

class FeedForward : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  // x_BTD: the MLP input (output of post_attention_layernorm). Returns (B,T,D).
  // Implementations emit their own projection activations through ctx.
  virtual at::Tensor Forward(const at::Tensor& x_BTD, const LayerContext& ctx) = 0;
};

// down_proj(silu(gate_proj(x)) * up_proj(x)); submodules gate_proj, up_proj, down_proj.
class SwiGluMlp : public FeedForward {
 public:
  SwiGluMlp(const ModelConfig& config, const at::TensorOptions& options);
  // Emits gate (before SiLU), up and down projections.
  at::Tensor Forward(const at::Tensor& x_BTD, const LayerContext& ctx) override;

  Linear& gate_proj() const { return *gate_proj_; }
  Linear& up_proj() const { return *up_proj_; }
  Linear& down_proj() const { return *down_proj_; }

 private:
  std::shared_ptr<Linear> gate_proj_, up_proj_, down_proj_;
};

}  // namespace nmoe::model
