// The compute set-up the benches share: `threads` intra-op threads on the BLAS
// kernels the process runs on (compute::EnsureBestBlasKernels), without the start-up
// GEMM measurement (each bench times its own work); the summary line goes to stdout.
#pragma once

#include <iostream>

#include "absl/status/statusor.h"
#include "compute/compute_info.h"

namespace nmoe::bench {

inline absl::StatusOr<compute::ComputeInfo> InitBenchCompute(const compute::BlasKernelReport& kernels, int threads) {
  compute::ComputeOptions options;
  options.threads.intra_op = threads;
  options.gemm_budget_seconds = 0;
  auto info = compute::InitCompute(kernels, options);
  if (info.ok()) std::cout << compute::ComputeSummaryLine(*info) << "\n";
  return info;
}

}  // namespace nmoe::bench
