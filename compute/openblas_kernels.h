// OpenBLAS kernel families and the decision whether to switch (pure, no torch).
//
// A DYNAMIC_ARCH OpenBLAS (Debian's) picks a kernel family ("core") once, when
// it is loaded, from cpuid; OPENBLAS_CORETYPE=<name> overrides that choice.
// Version 0.3.21 does not recognise some newer CPUs and falls back to its
// oldest SSE3 kernels ("Prescott"), several times slower. Since the variable
// is only read at load time, switching means restarting the process
// (compute/blas_kernels.h); this file decides whether that is worth doing.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "compute/blas_probe.h"
#include "compute/cpu_features.h"

namespace nmoe::compute {

// The ISA a family's kernels need; nullopt for names this table does not know
// (for example a newer OpenBLAS's family): such a choice is left alone.
std::optional<IsaLevel> OpenBlasFamilyLevel(const std::string& corename);

// The family's spelling in the table ("skylakex" -> "SkylakeX"); nullopt when unknown.
std::optional<std::string> CanonicalOpenBlasFamily(const std::string& name);

// Whether this CPU can run the family's kernels (ISA level, plus AVX512_BF16
// for Cooperlake). False for unknown names.
bool CpuSupportsFamily(const CpuFeatures& cpu, const std::string& family);

// The family to use on this CPU: SkylakeX (AVX-512), Haswell (AVX2 + FMA3),
// Sandybridge (AVX); nullopt below AVX (the library's own choice is as good).
// SkylakeX rather than Cooperlake: Cooperlake is SkylakeX's kernels plus bf16
// sbgemm ones, which LibTorch never calls (its bf16 GEMM goes through oneDNN).
std::optional<std::string> BestOpenBlasFamily(const CpuFeatures& cpu);

// User control (NMOE_BLAS_KERNELS or --blas-kernels):
//   auto (default): switch when the library's family is older than the CPU
//                   supports, unless the user set OPENBLAS_CORETYPE;
//   best:           the same, overriding a user's OPENBLAS_CORETYPE;
//   off:            no switch and no self-check;
//   <family>:       use that OpenBLAS family (refused when the CPU cannot run it).
enum class KernelMode { kAuto, kBest, kOff, kForce };

struct KernelRequest {
  KernelMode mode = KernelMode::kAuto;
  std::string family;  // kForce: canonical name
};

// "" -> auto. INVALID_ARGUMENT names the accepted values on anything else.
absl::StatusOr<KernelRequest> ParseKernelRequest(const std::string& value);

struct KernelDecision {
  bool reexec = false;
  std::string family;  // when reexec: the OPENBLAS_CORETYPE to set
  std::string reason;  // why, in words, for the log and the report
};

// user_coretype: OPENBLAS_CORETYPE as the user set it (not one nmoe set).
KernelDecision DecideKernels(const KernelRequest& request, const CpuFeatures& cpu, const BlasInfo& blas,
                             const std::optional<std::string>& user_coretype);

}  // namespace nmoe::compute
