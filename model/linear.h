// Parameter-holding primitives with Hugging Face parameter names ("weight", "bias").
// Unlike torch::nn::Linear/Embedding they allocate in the requested dtype and do NOT
// initialise: every model is filled by RandomInit or a checkpoint load (init.h,
// checkpoint.h), so a 3B model is never initialised twice or built in fp32 first.
//
// Shape legend: N any leading dims, I input features, O output features, V vocab, D width.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace nmoe::model {

// y_NO = x_NI W_OI^T (+ b_O).
class Linear : public torch::nn::Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options);
  at::Tensor Forward(const at::Tensor& x_NI) const;

  const at::Tensor& weight_OI() const { return weight_OI_; }
  const at::Tensor& bias_O() const { return bias_O_; }  // undefined without bias

 private:
  at::Tensor weight_OI_;
  at::Tensor bias_O_;
};

// Token embedding table: x_ND = W_VD[ids_N].
class Embedding : public torch::nn::Module {
 public:
  Embedding(int64_t vocab_size, int64_t dim, const at::TensorOptions& options);
  at::Tensor Forward(const at::Tensor& ids_N) const;
  const at::Tensor& weight_VD() const { return weight_VD_; }

 private:
  at::Tensor weight_VD_;
};

// RMSNorm as in transformers' LlamaRMSNorm: computed in fp32,
//   y = weight * (x / sqrt(mean(x^2) + eps)).to(x.dtype)
class RmsNorm : public torch::nn::Module {
 public:
  RmsNorm(int64_t dim, double eps, const at::TensorOptions& options);
  at::Tensor Forward(const at::Tensor& x_ND) const;
  const at::Tensor& weight_D() const { return weight_D_; }

 private:
  double eps_;
  at::Tensor weight_D_;
};

}  // namespace nmoe::model
