// Causal self-attention over already-projected, already-rotated heads. The one place
// that picks the kernel: plain matmul-softmax-matmul on LibTorch 1.x (no fused
// scaled_dot_product_attention there); LibTorch 2.x may route to SDPA here later
// without touching the modules.
//
// Shape legend: B batch, T time, H query heads, K key/value heads (H = K*G), G queries
// per kv head, d head_dim.
#pragma once

#include <torch/types.h>

namespace nmoe::model {

// Which keys each query may attend to: causal, optionally restricted to real tokens.
struct AttentionMask {
  // allowed_B1TT (bool): query t may attend key s. Batch dim 1 when there is no padding.
  at::Tensor allowed_B1TT;
  bool pure_causal = true;  // no padding mask folded in
};

// Causal (lower-triangular) mask, and'ed with key_mask_BT (true = real token) when that
// is defined. Query rows that can see no key (padding before the first real token)
// get a uniform, finite distribution: their outputs are meaningless but never NaN.
AttentionMask MakeAttentionMask(int64_t batch, int64_t time, const at::Tensor& key_mask_BT,
                                const at::Device& device);

// softmax(q k^T * scale + mask) v with grouped-query heads: q_BHTd, k_BKTd, v_BKTd;
// returns out_BHTd. Scores are formed in q's dtype, softmax in fp32 (as transformers).
at::Tensor GroupedCausalAttention(const at::Tensor& q_BHTd, const at::Tensor& k_BKTd, const at::Tensor& v_BKTd,
                                  const AttentionMask& mask, double scale);

}  // namespace nmoe::model
