// Rotary position embedding (RoPE) in transformers' convention: the head dimension is
// split in halves (rotate_half), not interleaved pairs; optional "llama3" scaling.
//
// Shape legend: B batch, T time, H heads, d head_dim, d2 = d/2.
#pragma once

#include <torch/types.h>

#include <optional>

#include "model/config.h"

namespace nmoe::model {

// inv_freq_d2[i] = 1 / theta^(2i/d), rescaled by the llama3 rule when given:
// wavelengths above original_max/low_freq_factor are divided by `factor`, those below
// original_max/high_freq_factor kept, and those in between blended with
//   s = (original_max / wavelength - low) / (high - low),
//   f' = (1 - s) * f / factor + s * f.
// Computed in fp32 (as transformers does).
at::Tensor RopeInverseFrequencies(int64_t head_dim, double theta, const std::optional<Llama3RopeScaling>& scaling);

class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const ModelConfig& config);

  // cos/sin tables (B,T,d) for positions_BT (int64), computed in fp32 and cast to `dtype`.
  std::pair<at::Tensor, at::Tensor> CosSin(const at::Tensor& positions_BT, at::ScalarType dtype) const;

  const at::Tensor& inv_freq_d2() const { return inv_freq_d2_; }

 private:
  at::Tensor inv_freq_d2_;  // fp32, CPU
};

// x * cos + rotate_half(x) * sin with rotate_half(x) = cat(-x[d2:], x[:d2]).
// x_BTHd with cos/sin_BTd (broadcast over heads).
at::Tensor ApplyRope(const at::Tensor& x_BTHd, const at::Tensor& cos_BTd, const at::Tensor& sin_BTd);

}  // namespace nmoe::model
