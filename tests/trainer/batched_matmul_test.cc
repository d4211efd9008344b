// model/batched_matmul.h (the attention products the trainer's speed depends on):
// values and gradients equal at::matmul's, for transposed views too, with 1 and 2
// threads; autocast falls back to at::matmul.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "model/autocast.h"
#include "model/batched_matmul.h"

namespace nmoe::model {
namespace {

double RelErr(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

TEST(BatchedMatmulTest, MatchesMatmulWithGradients) {
  const int saved = at::get_num_threads();
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    at::Generator gen = at::detail::createCPUGenerator(5);
    const at::Tensor a0 = at::randn({6, 40, 16}, gen), b0 = at::randn({6, 24, 16}, gen);
    const at::Tensor up = at::randn({6, 40, 24}, gen);
    at::Tensor a1 = a0.clone().requires_grad_(), b1 = b0.clone().requires_grad_();
    at::Tensor a2 = a0.clone().requires_grad_(), b2 = b0.clone().requires_grad_();
    const at::Tensor ours = BatchedMatmul(a1, b1.transpose(1, 2));  // a transposed view, no copy
    const at::Tensor want = at::matmul(a2, b2.transpose(1, 2));
    EXPECT_LT(RelErr(ours, want), 1e-6) << threads;
    (ours * up).sum().backward();
    (want * up).sum().backward();
    EXPECT_LT(RelErr(a1.grad(), a2.grad()), 1e-6) << threads;
    EXPECT_LT(RelErr(b1.grad(), b2.grad()), 1e-6) << threads;
  }
  at::set_num_threads(saved);
}

TEST(BatchedMatmulTest, AutocastAndOtherDtypesFallBack) {
  const at::Tensor a = at::randn({2, 8, 4}), b = at::randn({2, 4, 8});
  {
    CpuAutocast autocast(true);
    EXPECT_EQ(BatchedMatmul(a, b).scalar_type(), at::kBFloat16);  // autocast's matmul rule
  }
  EXPECT_EQ(BatchedMatmul(a.to(at::kDouble), b.to(at::kDouble)).scalar_type(), at::kDouble);
}

}  // namespace
}  // namespace nmoe::model
