#include "model/attention_kernel.h"

#include <limits>

#include "model/batched_matmul.h"

namespace nmoe::model {

AttentionMask MakeAttentionMask(int64_t batch, int64_t time, const at::Tensor& key_mask_BT,
                                const at::Device& device) {
  AttentionMask mask;
  const at::Tensor causal_TT = at::ones({time, time}, at::TensorOptions().dtype(at::kBool).device(device)).tril();
  if (!key_mask_BT.defined()) {
    mask.allowed_B1TT = causal_TT.view({1, 1, time, time});
    return mask;
  }
  const at::Tensor keys_B11T = key_mask_BT.to(device, at::kBool).view({batch, 1, 1, time});
  mask.allowed_B1TT = causal_TT.view({1, 1, time, time}).logical_and(keys_B11T);
  mask.pure_causal = false;
  return mask;
}

at::Tensor GroupedCausalAttention(const at::Tensor& q_BHTd, const at::Tensor& k_BKTd, const at::Tensor& v_BKTd,
                                  const AttentionMask& mask, double scale) {
  const int64_t b = q_BHTd.size(0), h = q_BHTd.size(1), t = q_BHTd.size(2), d = q_BHTd.size(3);
  const int64_t k = k_BKTd.size(1), g = h / k;
  // Query head j*G + i uses kv head j (transformers' repeat_kv): fold the G queries of
  // a kv head into its time axis so no kv copy is made.
  // BatchedMatmul (batched_matmul.h): LibTorch 1.13's CPU bmm is slow at these shapes.
  // The scale goes on q (T*d values) rather than on the scores (T*T values).
  const at::Tensor q_NMd = (q_BHTd * scale).contiguous().view({b * k, g * t, d});
  const at::Tensor k_NTd = k_BKTd.contiguous().view({b * k, t, d});
  const at::Tensor scores_BKGTT = BatchedMatmul(q_NMd, k_NTd.transpose(1, 2)).view({b, k, g, t, t});
  const at::Tensor blocked_B11TT = mask.allowed_B1TT.unsqueeze(1).logical_not();
  at::Tensor probs_BKGTT;
  if (mask.pure_causal) {
    // An additive mask, then softmax: two passes over the scores instead of masked_fill's
    // copy + fill + softmax, and no mask work in backward (the add passes gradients
    // through; in place, on the view, it would cost a CopySlices in backward). Every
    // causal row sees its own key, so none is fully masked and the result equals
    // masked_fill's.
    const at::Tensor bias_TT = at::zeros({t, t}, scores_BKGTT.options().dtype(at::kFloat))
                                   .masked_fill_(blocked_B11TT.view({t, t}), std::numeric_limits<float>::lowest());
    probs_BKGTT = (scores_BKGTT.to(at::kFloat) + bias_TT).softmax(-1).to(q_BHTd.scalar_type());
  } else {
    probs_BKGTT = scores_BKGTT.to(at::kFloat)
                      .masked_fill(blocked_B11TT, std::numeric_limits<float>::lowest())
                      .softmax(-1)
                      .to(q_BHTd.scalar_type());
  }
  const at::Tensor out_NMd = BatchedMatmul(probs_BKGTT.view({b * k, g * t, t}), v_BKTd.contiguous().view({b * k, t, d}));
  return out_NMd.view({b, h, t, d});
}

}  // namespace nmoe::model
