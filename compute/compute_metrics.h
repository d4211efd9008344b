// Prometheus series describing a process's compute path (set once at start).
//
//   nmoe_compute_info{cpu_model, cpu_isa, blas, blas_version, kernel, kernel_action} 1
//   nmoe_compute_gemm_gflops{dtype="fp32"|"bf16", stat="mean"|"best"}  start-up GEMM figures
//   nmoe_compute_threads{pool="intra_op"|"inter_op"|"blas"}
//   nmoe_compute_cpus{kind="online"|"usable"}
//   nmoe_compute_cpu_feature{feature="avx2"|"avx512"|"avx512_bf16"|"amx_bf16"}  1 = usable
//   nmoe_compute_blas_self_check_rel_error             worst relative error (when checked)
#pragma once

#include <prometheus/registry.h>

#include "compute/compute_info.h"

namespace nmoe::compute {

// Registers the series above on `registry`, once per registry.
void RegisterComputeMetrics(prometheus::Registry& registry, const ComputeInfo& info);

}  // namespace nmoe::compute
