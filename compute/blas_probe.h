// Which BLAS library this process's fp32 GEMM runs on (no torch).
//
// LibTorch (Debian's build) calls the Fortran symbol `sgemm_` from whatever
// libblas.so.3 the dynamic loader found (update-alternatives picks it). The
// probe resolves `sgemm_` in the global scope, asks dladdr which object
// defines it, and looks for vendor entry points (openblas_get_config, MKL,
// BLIS) in that object and its dependencies, so a process that has OpenBLAS
// loaded for LAPACK but the reference BLAS for sgemm_ is reported correctly.
#pragma once

#include <string>
#include <vector>

namespace nmoe::compute {

enum class BlasKind {
  kNone,       // no sgemm_ in the process (a binary without LibTorch)
  kReference,  // an sgemm_ without any known vendor entry point: netlib's reference BLAS
  kOpenBlas,
  kMkl,
  kBlis,
};

// "none", "reference BLAS", "OpenBLAS", "MKL", "BLIS".
const char* BlasKindName(BlasKind kind);

struct BlasInfo {
  BlasKind kind = BlasKind::kNone;
  std::string sgemm_library;   // path of the object defining sgemm_, as loaded
  std::string resolved_path;   // the same with symlinks (alternatives) resolved
  std::string config;          // openblas_get_config(), MKL's version string, ...
  std::string version;         // "0.3.21" for OpenBLAS when the config names it
  std::string corename;        // openblas_get_corename(): the kernel family in use
  int threads = 0;             // openblas_get_num_threads(); 0 when unknown
  // Every loaded object whose file name mentions blas, lapack, mkl, blis or dnnl.
  std::vector<std::string> loaded_libraries;

  bool is_openblas() const { return kind == BlasKind::kOpenBlas; }
};

// Probes the current process. Never fails; kind kNone when no sgemm_ is loaded.
BlasInfo ProbeBlas();

// Sets OpenBLAS's thread count through openblas_set_num_threads of the library
// that serves sgemm_. Returns false when that library is not OpenBLAS.
bool SetBlasThreads(int threads);

// One line for logs: "OpenBLAS 0.3.21, kernels Zen, 2 threads (/usr/lib/...)".
std::string DescribeBlas(const BlasInfo& blas);

}  // namespace nmoe::compute
