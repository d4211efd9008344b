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
  const at::Tensor q_NMd = q_BHTd.contiguous().view({b * k, g * t, d});
  const at::Tensor k_NTd = k_BKTd.contiguous().view({b * k, t, d});
  const at::Tensor scores_BKGTT = BatchedMatmul(q_NMd, k_NTd.transpose(1, 2)).mul_(scale).view({b, k, g, t, t});
  const at::Tensor allowed_B11TT = mask.allowed_B1TT.unsqueeze(1);
  const at::Tensor probs_BKGTT = scores_BKGTT.to(at::kFloat)
                                     .masked_fill(allowed_B11TT.logical_not(), std::numeric_limits<float>::lowest())
                                     .softmax(-1)
                                     .to(q_BHTd.scalar_type());
  const at::Tensor out_NMd = BatchedMatmul(probs_BKGTT.view({b * k, g * t, t}), v_BKTd.contiguous().view({b * k, t, d}));
  return out_NMd.view({b, h, t, d});
}

}  // namespace nmoe::model
