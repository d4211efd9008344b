// Next-token language-model loss: position t's logits predict token t+1.
//
// Shape legend: B batch, T time, V vocab.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace nmoe::model {

inline constexpr int64_t kIgnoreIndex = -100;  // transformers' ignore index

struct LmLoss {
  at::Tensor mean;   // sum / max(count, 1): the usual training loss (scalar, fp32)
  at::Tensor sum;    // summed token cross-entropy (scalar, fp32), for exact averaging
  at::Tensor count;  // number of predicted tokens (scalar, int64)
};

// Cross entropy of logits_BTV[:, :-1] against targets_BT[:, 1:], computed in fp32.
// targets_BT are usually the input ids. A target is skipped when it equals
// `ignore_index` or when mask_BT (optional, 1 = real token) is 0 at its position.
// INVALID_ARGUMENT for mismatched shapes or targets outside [0, V) that are not ignored.
absl::StatusOr<LmLoss> NextTokenLoss(const at::Tensor& logits_BTV, const at::Tensor& targets_BT,
                                     const at::Tensor& mask_BT = {}, int64_t ignore_index = kIgnoreIndex);

}  // namespace nmoe::model
