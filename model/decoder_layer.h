// One pre-norm decoder layer (transformers' LlamaDecoderLayer / Qwen2DecoderLayer):
//   h = x + self_attn(input_layernorm(x));  out = h + mlp(post_attention_layernorm(h)).
// Submodules: input_layernorm, self_attn, post_attention_layernorm, mlp.
//
// Shape legend: B batch, T time, D hidden, d head_dim.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>

#include "model/attention.h"
#include "model/config.h"
#include "model/hooks.h"
#include "model/linear.h"
#include "model/mlp.h"

namespace nmoe::model {

class DecoderLayer : public torch::nn::Module {
 public:
  // The MLP is dense, or an MoeMlp (moe_mlp.h) when config.ExpertsInLayer(layer_index) >= 2.
  DecoderLayer(const ModelConfig& config, int64_t layer_index, const at::TensorOptions& options);

  // Emits the attention projections, the MLP input and the MLP's own activations.
  at::Tensor Forward(const at::Tensor& x_BTD, const at::Tensor& cos_BTd, const at::Tensor& sin_BTd,
                     const AttentionMask& mask, const LayerContext& ctx) const;

  // Swaps the MLP for another module (e.g. an MoE layer); returns the previous one.
  // The new module is registered as "mlp", so its parameters are named
  // model.layers.{i}.mlp.<its names>.
  std::shared_ptr<FeedForward> ReplaceMlp(std::shared_ptr<FeedForward> mlp);

  Attention& self_attn() const { return *self_attn_; }
  FeedForward& mlp() const { return *mlp_; }
  const std::shared_ptr<FeedForward>& mlp_ptr() const { return mlp_; }
  RmsNorm& input_layernorm() const { return *input_layernorm_; }
  RmsNorm& post_attention_layernorm() const { return *post_attention_layernorm_; }

 private:
  std::shared_ptr<RmsNorm> input_layernorm_;
  std::shared_ptr<Attention> self_attn_;
  std::shared_ptr<RmsNorm> post_attention_layernorm_;
  std::shared_ptr<FeedForward> mlp_;
};

}  // namespace nmoe::model
