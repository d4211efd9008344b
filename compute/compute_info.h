// What a process computes on, gathered once at start (the header stays torch-free).
//
// Typical main of a process that runs models:
//   auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);  // first: may restart
//   ... parse flags, InitLogging ...
//   NMOE_ASSIGN_OR_RETURN(auto info, nmoe::compute::InitCompute(kernels, options));  // threads, GFLOP/s, log line
//   nmoe::compute::RegisterComputeMetrics(*registry, info);
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "compute/blas_kernels.h"
#include "compute/blas_probe.h"
#include "compute/cpu_features.h"
#include "compute/gemm_rate.h"
#include "compute/threads.h"

namespace nmoe::compute {

struct ComputeOptions {
  ThreadOptions threads;
  // Time for the fp32 and bf16 start-up GEMM figures together; 0 skips them.
  double gemm_budget_seconds = 0.5;
};

struct ComputeInfo {
  CpuFeatures cpu;
  BlasInfo blas;
  BlasKernelReport kernels;
  ThreadSettings threads;
  std::optional<GemmRate> fp32;
  std::optional<GemmRate> bf16;
};

// Applies the thread options, probes CPU and BLAS, measures GFLOP/s (half the
// budget per dtype, after the threads are set) and logs one info line
// (ComputeSummaryLine). Errors: ApplyThreads's and MeasureGemm's.
absl::StatusOr<ComputeInfo> InitCompute(const BlasKernelReport& kernels, const ComputeOptions& options);

// "compute: BLAS OpenBLAS 0.3.21 (...), kernels Zen [kept] ..., threads intra 2 inter 1 blas 2,
//  GEMM fp32 55.1 GFLOP/s (best 60.2; 1024^3 x 5), bf16 ...; CPU ..."
std::string ComputeSummaryLine(const ComputeInfo& info);

}  // namespace nmoe::compute
