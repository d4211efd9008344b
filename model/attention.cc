#include "model/attention.h"

#include <cmath>

#include "model/rope.h"

namespace nmoe::model {

Attention::Attention(const ModelConfig& c, const at::TensorOptions& options)
    : torch::nn::Module("Attention"),
      num_heads_(c.num_attention_heads),
      num_kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim) {
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(c.hidden_size, c.q_size(), c.qkv_bias(), options));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(c.hidden_size, c.kv_size(), c.qkv_bias(), options));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(c.hidden_size, c.kv_size(), c.qkv_bias(), options));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(c.q_size(), c.hidden_size, c.o_bias(), options));
}

at::Tensor Attention::Forward(const at::Tensor& x_BTD, const at::Tensor& cos_BTd, const at::Tensor& sin_BTd,
                              const AttentionMask& mask, const LayerContext& ctx) const {
  const int64_t b = x_BTD.size(0), t = x_BTD.size(1);
  const at::Tensor q_BTC = q_proj_->Forward(x_BTD);
  ctx.Emit(Component::kQProj, q_BTC);
  const at::Tensor k_BTC = k_proj_->Forward(x_BTD);
  ctx.Emit(Component::kKProj, k_BTC);
  const at::Tensor v_BTC = v_proj_->Forward(x_BTD);
  ctx.Emit(Component::kVProj, v_BTC);

  at::Tensor qr_BTC = ApplyRope(q_BTC.view({b, t, num_heads_, head_dim_}), cos_BTd, sin_BTd).view({b, t, -1});
  at::Tensor kr_BTC = ApplyRope(k_BTC.view({b, t, num_kv_heads_, head_dim_}), cos_BTd, sin_BTd).view({b, t, -1});
  at::Tensor v_BTC_padded = v_BTC;
  // Unpadded forward: rows (1,N,.) are rotated with their own positions' cos/sin, then
  // laid out padded (zeros at padding, which the mask hides) for attention only.
  const PackedTokens* packed = ctx.packed;
  const int64_t pb = packed != nullptr ? packed->batch : b, pt = packed != nullptr ? packed->time : t;
  if (packed != nullptr) {
    qr_BTC = packed->Unpack(qr_BTC);
    kr_BTC = packed->Unpack(kr_BTC);
    v_BTC_padded = packed->Unpack(v_BTC);
  }
  const at::Tensor q_BHTd = qr_BTC.view({pb, pt, num_heads_, head_dim_}).transpose(1, 2);
  const at::Tensor k_BKTd = kr_BTC.view({pb, pt, num_kv_heads_, head_dim_}).transpose(1, 2);
  const at::Tensor v_BKTd = v_BTC_padded.view({pb, pt, num_kv_heads_, head_dim_}).transpose(1, 2);

  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  const at::Tensor attn_BHTd = GroupedCausalAttention(q_BHTd, k_BKTd, v_BKTd, mask, scale);
  at::Tensor attn_BTC = attn_BHTd.transpose(1, 2).reshape({pb, pt, num_heads_ * head_dim_});
  if (packed != nullptr) attn_BTC = packed->Pack(attn_BTC);
  at::Tensor o_BTD = o_proj_->Forward(attn_BTC);
  ctx.Emit(Component::kOProj, o_BTD);
  return o_BTD;
}

}  // namespace nmoe::model
