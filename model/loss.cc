#include "model/loss.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <c10/util/Exception.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nmoe::model {

absl::StatusOr<LmLoss> NextTokenLoss(const at::Tensor& logits_BTV, const at::Tensor& targets_BT,
                                     const at::Tensor& mask_BT, int64_t ignore_index) {
  if (!logits_BTV.defined() || !targets_BT.defined() || logits_BTV.dim() != 3 || targets_BT.dim() != 2 ||
      logits_BTV.size(0) != targets_BT.size(0) || logits_BTV.size(1) != targets_BT.size(1) ||
      (mask_BT.defined() && mask_BT.sizes() != targets_BT.sizes())) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss: expected logits (B,T,V), targets (B,T) and an optional mask (B,T); got logits [",
                     logits_BTV.defined() ? absl::StrJoin(logits_BTV.sizes(), ",") : "", "] targets [",
                     targets_BT.defined() ? absl::StrJoin(targets_BT.sizes(), ",") : "", "]"));
  }
  try {
    const int64_t b = logits_BTV.size(0), t = logits_BTV.size(1), v = logits_BTV.size(2);
    at::Tensor targets_BS = targets_BT.narrow(1, 1, t - 1).to(logits_BTV.device(), at::kLong);
    if (mask_BT.defined()) {
      const at::Tensor keep_BS = mask_BT.narrow(1, 1, t - 1).to(logits_BTV.device(), at::kBool);
      targets_BS = targets_BS.masked_fill(keep_BS.logical_not(), ignore_index);
    }
    const at::Tensor valid_BS = targets_BS.ne(ignore_index);
    if (targets_BS.numel() > 0) {
      const at::Tensor used = targets_BS.masked_select(valid_BS);
      if (used.numel() > 0 && (used.min().item<int64_t>() < 0 || used.max().item<int64_t>() >= v)) {
        return absl::InvalidArgumentError(absl::StrCat("loss: a target id is outside [0, ", v, ")"));
      }
    }
    const at::Tensor logits_NV = logits_BTV.narrow(1, 0, t - 1).reshape({b * (t - 1), v}).to(at::kFloat);
    LmLoss loss;
    loss.sum = at::cross_entropy_loss(logits_NV, targets_BS.reshape({-1}), /*weight=*/{}, at::Reduction::Sum,
                                      ignore_index);
    loss.count = valid_BS.sum();
    loss.mean = loss.sum / loss.count.clamp_min(1).to(at::kFloat);
    return loss;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("loss: ", e.what_without_backtrace()));
  }
}

}  // namespace nmoe::model
