#include "model/rope.h"

#include <numbers>

namespace nmoe::model {

at::Tensor RopeInverseFrequencies(int64_t head_dim, double theta, const std::optional<Llama3RopeScaling>& scaling) {
  const at::Tensor exponent_d2 = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  at::Tensor inv_freq_d2 = 1.0 / at::pow(theta, exponent_d2);
  if (!scaling) return inv_freq_d2;
  const double old_len = static_cast<double>(scaling->original_max_position_embeddings);
  const double low_wavelen = old_len / scaling->low_freq_factor;
  const double high_wavelen = old_len / scaling->high_freq_factor;
  const at::Tensor wavelen_d2 = 2.0 * std::numbers::pi / inv_freq_d2;
  // Long wavelengths (low frequencies) are stretched by `factor`.
  at::Tensor scaled_d2 = at::where(wavelen_d2 > low_wavelen, inv_freq_d2 / scaling->factor, inv_freq_d2);
  const at::Tensor smooth_d2 =
      (old_len / wavelen_d2 - scaling->low_freq_factor) / (scaling->high_freq_factor - scaling->low_freq_factor);
  const at::Tensor blended_d2 = (1.0 - smooth_d2) * scaled_d2 / scaling->factor + smooth_d2 * scaled_d2;
  const at::Tensor medium_d2 = (wavelen_d2 >= high_wavelen).logical_and(wavelen_d2 <= low_wavelen);
  return at::where(medium_d2, blended_d2, scaled_d2);
}

RotaryEmbedding::RotaryEmbedding(const ModelConfig& config)
    : inv_freq_d2_(RopeInverseFrequencies(config.head_dim, config.rope_theta, config.rope_scaling)) {}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::CosSin(const at::Tensor& positions_BT,
                                                          at::ScalarType dtype) const {
  const at::Tensor inv_freq_d2 = inv_freq_d2_.to(positions_BT.device());
  // (B,T,1) * (d2) -> (B,T,d2), in fp32.
  const at::Tensor freqs_BTd2 = positions_BT.to(at::kFloat).unsqueeze(-1) * inv_freq_d2;
  const at::Tensor angles_BTd = at::cat({freqs_BTd2, freqs_BTd2}, -1);
  return {angles_BTd.cos().to(dtype), angles_BTd.sin().to(dtype)};
}

at::Tensor ApplyRope(const at::Tensor& x_BTHd, const at::Tensor& cos_BTd, const at::Tensor& sin_BTd) {
  const int64_t d2 = x_BTHd.size(-1) / 2;
  const at::Tensor x1 = x_BTHd.narrow(-1, 0, d2);
  const at::Tensor x2 = x_BTHd.narrow(-1, d2, d2);
  const at::Tensor rotated_BTHd = at::cat({-x2, x1}, -1);
  const at::Tensor cos_BT1d = cos_BTd.unsqueeze(2);
  const at::Tensor sin_BT1d = sin_BTd.unsqueeze(2);
  return x_BTHd * cos_BT1d + rotated_BTHd * sin_BT1d;
}

}  // namespace nmoe::model
