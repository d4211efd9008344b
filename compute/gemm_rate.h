// GEMM throughput through LibTorch (the header stays torch-free).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "compute/dtype.h"

namespace nmoe::compute {

struct GemmRate {
  ComputeDtype dtype = ComputeDtype::kFp32;
  int64_t m = 0, n = 0, k = 0;
  int iterations = 0;
  double seconds = 0;  // timed part only (after one warm-up product)
  double gflops = 0;       // mean: 2*m*n*k*iterations / seconds / 1e9
  double best_gflops = 0;  // the fastest single product: on a shared machine, the
                           // closer to what the cores can do
};

// Times C (m x n) = A (m x k) * W^T with W (n x k): a linear layer's layout,
// on uniform random inputs of `dtype`, after one untimed warm-up product.
// Repeats until `min_seconds` have passed and at least `min_iterations` ran.
// INVALID_ARGUMENT on non-positive sizes; INTERNAL on a LibTorch error.
absl::StatusOr<GemmRate> MeasureGemm(ComputeDtype dtype, int64_t m, int64_t n, int64_t k, double min_seconds,
                                     int min_iterations = 1);

// A start-up figure within about `budget_seconds` (warm-ups included): picks
// the largest square size in 128..2048 (doubling) whose single product takes
// under a quarter of the budget, then measures it for the rest of the budget.
absl::StatusOr<GemmRate> QuickGemmRate(ComputeDtype dtype, double budget_seconds);

// "fp32 55.2 GFLOP/s (best 60.1; 1024^3 x 12)".
std::string DescribeGemmRate(const GemmRate& rate);

}  // namespace nmoe::compute
