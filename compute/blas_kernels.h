// Start-up kernel choice for OpenBLAS, with a restart of the process.
//
// Call EnsureBestBlasKernels(argc, argv) first thing in main of every process
// that runs models (before threads, files or sockets exist: it may execve).
//
//   1. No marker in the environment: probe the BLAS and the CPU and decide
//      (compute/openblas_kernels.h). To switch, re-exec /proc/self/exe with
//      the same argv, OPENBLAS_CORETYPE=<family> and
//      NMOE_BLAS_REEXEC=applied:<family>:<previous family>.
//   2. Marker "applied": run the GEMM self-check (compute/gemm_check.h). Pass:
//      keep the family. Fail, or SIGILL during the check: re-exec once more
//      with OPENBLAS_CORETYPE restored to what it was (unset, or the user's)
//      and NMOE_BLAS_REEXEC=rejected:<family>:<why>, and log a warning.
//   3. Marker "rejected": keep the library's own choice; never switch again.
// In every case but `off` the GEMM in use is self-checked and the result is
// in the report (a failing check without a switch to undo is a warning).
//
// Control: NMOE_BLAS_KERNELS=auto|best|off|<OpenBLAS family>, or the same as
// `--blas-kernels=<value>` / `--blas-kernels <value>` on the command line
// (the flag wins; mains that parse flags must accept it, see kBlasKernelsFlag).
// Child processes inherit the marker: they self-check and do not switch again.
//
// OpenMP wait policy: libgomp reads OMP_WAIT_POLICY once, before main, and its
// default lets idle threads spin; on a shared machine that costs ~5x. When
// OMP_WAIT_POLICY is unset, the process restarts once with
// OMP_WAIT_POLICY=passive and NMOE_OMP_REEXEC=passive (the marker), folded
// into the kernel switch's restart when there is one (so at most one extra
// image). A value the user set, even empty, is kept. This happens in every
// mode, `off` included; the restarted image logs it.
#pragma once

#include <string>

#include "compute/gemm_check.h"
#include "compute/openblas_kernels.h"

namespace nmoe::compute {

inline constexpr char kBlasKernelsEnv[] = "NMOE_BLAS_KERNELS";
inline constexpr char kBlasKernelsFlag[] = "--blas-kernels";
inline constexpr char kBlasKernelsFlagHelp[] =
    "OpenBLAS kernel family: auto (default: the CPU's best unless OPENBLAS_CORETYPE is set), best, off, "
    "or a family name such as Haswell or SkylakeX (docs/compute.md)";
inline constexpr char kBlasMarkerEnv[] = "NMOE_BLAS_REEXEC";
inline constexpr char kBlasSavedCoretypeEnv[] = "NMOE_BLAS_SAVED_CORETYPE";
inline constexpr char kOmpWaitPolicyEnv[] = "OMP_WAIT_POLICY";
inline constexpr char kOmpMarkerEnv[] = "NMOE_OMP_REEXEC";

struct BlasKernelOptions {
  GemmFn gemm;  // GEMM to self-check; empty = TorchFp32Gemm()
  double bound = kFp32RelErrorBound;
};

struct BlasKernelReport {
  std::string request;  // the control value as given ("" = auto)
  // "off", "kept" (no switch needed or possible), "switched" (running the
  // family nmoe set), "rejected" (a switch failed its check; library's choice).
  std::string action;
  std::string family;   // the family nmoe set (switched) or rejected (rejected)
  std::string previous; // the library's own choice before a switch, when known
  std::string corename; // what OpenBLAS reports now; empty when not OpenBLAS
  std::string reason;
  bool self_checked = false;
  SelfCheckResult self_check;
  // OMP_WAIT_POLICY in effect ("" = unset: the restart failed) and whether
  // nmoe set it (this image is the restarted one).
  std::string omp_wait_policy;
  bool omp_wait_policy_set_by_nmoe = false;
};

// Returns only in the process that keeps running (it may execve first).
// Never fails: problems become warnings and the library's own choice is kept.
BlasKernelReport EnsureBestBlasKernels(int argc, char** argv, const BlasKernelOptions& options = {});

// One line for logs.
std::string DescribeKernelReport(const BlasKernelReport& report);

}  // namespace nmoe::compute
