// Batched matrix products for attention, fast on CPUs with few cores.
//
// Measured on the 2-core AVX2 machine this project runs on (bench/RESULTS.md, "model"):
// LibTorch 1.13's CPU at::bmm / at::matmul on 64 products of 512x32 @ 32x256 (the
// attention shapes of the small preset) runs at 0.7 GFLOP/s with 2 threads and
// 12 GFLOP/s with 1, because it splits every small product across OpenBLAS's threads
// (or runs its own loops). Splitting the batch across threads instead, one
// single-threaded BLAS product per item, runs at 23-40 GFLOP/s.
//
// Shape legend: N batch, M rows, K contraction, P columns.
#pragma once

#include <torch/types.h>

namespace nmoe::model {

// out_NMP = a_NMK @ b_NKP, differentiable. Any strides whose last two dims a BLAS
// accepts (e.g. transposed views) are used without copies. The batch is split across
// LibTorch's intra-op threads for fp32 CPU tensors outside autocast; anything else
// (other dtypes, devices, autocast) goes to at::matmul unchanged.
at::Tensor BatchedMatmul(const at::Tensor& a_NMK, const at::Tensor& b_NKP);

}  // namespace nmoe::model
