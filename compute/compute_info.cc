#include "compute/compute_info.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nmoe::compute {

absl::StatusOr<ComputeInfo> InitCompute(const BlasKernelReport& kernels, const ComputeOptions& options) {
  ComputeInfo info;
  info.cpu = DetectCpuFeatures();
  info.kernels = kernels;
  NMOE_ASSIGN_OR_RETURN(info.threads, ApplyThreads(options.threads, info.cpu.usable_cpus));
  info.blas = ProbeBlas();  // after ApplyThreads: reports the BLAS thread count in effect
  if (options.gemm_budget_seconds > 0) {
    NMOE_ASSIGN_OR_RETURN(info.fp32, QuickGemmRate(ComputeDtype::kFp32, options.gemm_budget_seconds / 2));
    NMOE_ASSIGN_OR_RETURN(info.bf16, QuickGemmRate(ComputeDtype::kBf16, options.gemm_budget_seconds / 2));
  }
  spdlog::info("{}", ComputeSummaryLine(info));
  if (!info.threads.note.empty()) spdlog::warn("compute: {}", info.threads.note);
  return info;
}

std::string ComputeSummaryLine(const ComputeInfo& info) {
  std::string out = absl::StrCat("compute: BLAS ", DescribeBlas(info.blas), "; ", DescribeKernelReport(info.kernels),
                                 "; threads intra ", info.threads.intra_op, " inter ", info.threads.inter_op, " blas ",
                                 info.threads.blas, "; GEMM ");
  if (info.fp32 && info.bf16) {
    absl::StrAppend(&out, DescribeGemmRate(*info.fp32), ", ", DescribeGemmRate(*info.bf16));
  } else {
    absl::StrAppend(&out, "not measured");
  }
  absl::StrAppend(&out, "; CPU ", DescribeCpu(info.cpu));
  return out;
}

}  // namespace nmoe::compute
