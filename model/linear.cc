#include "model/linear.h"

#include <ATen/ops/embedding.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/rsqrt.h>

namespace nmoe::model {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options)
    : torch::nn::Module("Linear") {
  weight_OI_ = register_parameter("weight", at::empty({out_features, in_features}, options));
  if (bias) bias_O_ = register_parameter("bias", at::empty({out_features}, options));
}

at::Tensor Linear::Forward(const at::Tensor& x_NI) const { return at::linear(x_NI, weight_OI_, bias_O_); }

Embedding::Embedding(int64_t vocab_size, int64_t dim, const at::TensorOptions& options)
    : torch::nn::Module("Embedding") {
  weight_VD_ = register_parameter("weight", at::empty({vocab_size, dim}, options));
}

at::Tensor Embedding::Forward(const at::Tensor& ids_N) const { return at::embedding(weight_VD_, ids_N); }

RmsNorm::RmsNorm(int64_t dim, double eps, const at::TensorOptions& options)
    : torch::nn::Module("RmsNorm"), eps_(eps) {
  weight_D_ = register_parameter("weight", at::empty({dim}, options));
}

at::Tensor RmsNorm::Forward(const at::Tensor& x_ND) const {
  const at::Tensor x32_ND = x_ND.to(at::kFloat);
  const at::Tensor variance_N1 = x32_ND.pow(2).mean(-1, /*keepdim=*/true);
  const at::Tensor normed_ND = (x32_ND * at::rsqrt(variance_N1 + eps_)).to(x_ND.scalar_type());
  return weight_D_ * normed_ND;
}

}  // namespace nmoe::model
