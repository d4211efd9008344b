// Grouped-query self-attention block (transformers' LlamaAttention / Qwen2Attention).
// Submodule names match Hugging Face: q_proj, k_proj, v_proj, o_proj.
//
// Shape legend: B batch, T time, D hidden, H query heads, K kv heads, d head_dim.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>

#include "model/attention_kernel.h"
#include "model/config.h"
#include "model/hooks.h"
#include "model/linear.h"

namespace nmoe::model {

class Attention : public torch::nn::Module {
 public:
  Attention(const ModelConfig& config, const at::TensorOptions& options);

  // x_BTD: the normed residual stream; cos/sin_BTd from RotaryEmbedding. Emits
  // q/k (before RoPE), v and o projections to ctx's hooks. Returns (B,T,D).
  // With ctx.packed (an unpadded forward) x and cos/sin are (1,N,.) real-token rows,
  // `mask` is the padded batch's, and so is the result's layout (1,N,D).
  at::Tensor Forward(const at::Tensor& x_BTD, const at::Tensor& cos_BTd, const at::Tensor& sin_BTd,
                     const AttentionMask& mask, const LayerContext& ctx) const;

  Linear& q_proj() const { return *q_proj_; }
  Linear& k_proj() const { return *k_proj_; }
  Linear& v_proj() const { return *v_proj_; }
  Linear& o_proj() const { return *o_proj_; }

 private:
  int64_t num_heads_, num_kv_heads_, head_dim_;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
};

}  // namespace nmoe::model
