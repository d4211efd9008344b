// Start-up self-check of an fp32 GEMM against a float64 reference (no torch).
//
// The GEMM under test is injected (compute/torch_gemm.h gives LibTorch's, the
// path models use); tests inject a deliberately wrong one. The reference is a
// plain triple loop in double written here: it calls no BLAS at all, so it
// cannot share a fault with the kernels under test. (LibTorch's float64 matmul
// would not do: it runs dgemm_ of the same OpenBLAS, same kernel family.)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace nmoe::compute {

// C (m x n) = A (m x k) * B, all row-major fp32. B is k x n, or n x k when
// b_transposed (C = A * B^T: the layout of a linear layer's weight).
using GemmFn = std::function<absl::Status(int64_t m, int64_t n, int64_t k, const float* a, const float* b,
                                          bool b_transposed, float* c)>;

struct GemmShape {
  int64_t m, n, k;
  bool b_transposed;
};

// The checked shapes: odd sizes that are multiples of no register or cache
// block (127 x 129 x 131, 33 x 517 x 65), a K of 513 (one past a power of
// two), a single row and a single column (GEMV-like paths), both B layouts.
const std::vector<GemmShape>& SelfCheckShapes();

// Bound on the normwise relative error ||C - R||_F / ||R||_F. fp32 rounding
// (unit roundoff 6e-8) over dot products of length <= 517 gives ~1e-7 to 1e-6
// with these inputs; a wrong kernel (bad blocking, dropped tails, garbage)
// gives errors of order 1. 1e-5 leaves 10x margin on the first and none for the second.
inline constexpr double kFp32RelErrorBound = 1e-5;

// R = A * B in double, by a triple loop (same layout conventions as GemmFn).
std::vector<double> ReferenceGemm(int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool b_transposed);

// Deterministic inputs in [-1, 1) from a fixed linear congruential generator.
std::vector<float> SelfCheckInput(int64_t count, uint64_t seed);

struct SelfCheckResult {
  bool passed = false;
  double max_rel_error = 0;  // worst over the shapes (infinity on NaN/Inf or a GEMM error)
  std::string detail;        // the worst shape and its error, or the failure
};

SelfCheckResult RunGemmSelfCheck(const GemmFn& gemm, double bound = kFp32RelErrorBound);

}  // namespace nmoe::compute
