// Test helper: calls EnsureBestBlasKernels first thing, as a real main would,
// and prints what it got as key=value lines (tests/compute/blas_kernels_test.cc).
//
// Flags (seen by this process and, unchanged, by its restarted images):
//   --bad-gemm-for=<family>    the self-check GEMM is LibTorch's, perturbed by
//                              1e-3 relative while OpenBLAS runs <family>
//   --sigill-gemm-for=<family> the self-check GEMM raises SIGILL under <family>
//                              (a kernel using an instruction the CPU lacks)
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "compute/blas_kernels.h"
#include "compute/blas_probe.h"
#include "compute/cpu_features.h"
#include "compute/gemm_check.h"
#include "compute/openblas_kernels.h"
#include "compute/torch_gemm.h"

namespace {

std::string FlagValue(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, name + "=")) return arg.substr(name.size() + 1);
  }
  return "";
}

const char* EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "-" : v;
}

bool RunningFamily(const std::string& family) {
  return !family.empty() &&
         absl::AsciiStrToLower(nmoe::compute::ProbeBlas().corename) == absl::AsciiStrToLower(family);
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("start pid=%d marker=%s coretype=%s omp=%s omp_marker=%s\n", static_cast<int>(getpid()),
              EnvOr("NMOE_BLAS_REEXEC"), EnvOr("OPENBLAS_CORETYPE"), EnvOr("OMP_WAIT_POLICY"),
              EnvOr("NMOE_OMP_REEXEC"));
  std::fflush(stdout);

  const std::string bad_for = FlagValue(argc, argv, "--bad-gemm-for");
  const std::string sigill_for = FlagValue(argc, argv, "--sigill-gemm-for");
  nmoe::compute::BlasKernelOptions options;
  const nmoe::compute::GemmFn torch_gemm = nmoe::compute::TorchFp32Gemm();
  if (!bad_for.empty() || !sigill_for.empty()) {
    options.gemm = [&](int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool bt,
                       float* c) -> absl::Status {
      if (RunningFamily(sigill_for)) raise(SIGILL);
      absl::Status st = torch_gemm(m, n, k, a, b, bt, c);
      if (RunningFamily(bad_for)) {
        for (int64_t i = 0; i < m * n; ++i) c[i] *= 1.001f;
      }
      return st;
    };
  }
  const nmoe::compute::BlasKernelReport report = nmoe::compute::EnsureBestBlasKernels(argc, argv, options);

  // Independent of the report: is LibTorch's GEMM right now (odd shape, fresh inputs)?
  const int64_t m = 301, n = 203, k = 157;
  const auto a = nmoe::compute::SelfCheckInput(m * k, 77);
  const auto b = nmoe::compute::SelfCheckInput(k * n, 78);
  std::vector<float> c(m * n);
  const bool gemm_ran = torch_gemm(m, n, k, a.data(), b.data(), false, c.data()).ok();
  const auto r = nmoe::compute::ReferenceGemm(m, n, k, a.data(), b.data(), false);
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    diff2 += (c[i] - r[i]) * (c[i] - r[i]);
    ref2 += r[i] * r[i];
  }
  const nmoe::compute::BlasInfo blas = nmoe::compute::ProbeBlas();
  const auto best = nmoe::compute::BestOpenBlasFamily(nmoe::compute::DetectCpuFeatures());
  std::printf("result action=%s family=%s previous=%s corename=%s blas=%s self_checked=%d self_check=%s "
              "rel_err=%.3g best=%s gemm_ran=%d gemm_rel_err=%.3g omp=%s omp_by_nmoe=%d omp_env=%s\n",
              report.action.c_str(), report.family.c_str(), report.previous.c_str(), blas.corename.c_str(),
              absl::StrReplaceAll(nmoe::compute::BlasKindName(blas.kind), {{" ", "_"}}).c_str(), report.self_checked ? 1 : 0,
              report.self_check.passed ? "passed" : "failed", report.self_check.max_rel_error,
              best.value_or("-").c_str(), gemm_ran ? 1 : 0, std::sqrt(diff2 / ref2),
              report.omp_wait_policy.empty() ? "-" : report.omp_wait_policy.c_str(),
              report.omp_wait_policy_set_by_nmoe ? 1 : 0, EnvOr("OMP_WAIT_POLICY"));
  std::printf("reason %s\n", report.reason.c_str());
  return 0;
}
