// Thread counts of LibTorch and the BLAS (the header stays torch-free).
//
// Debian's LibTorch 1.13 starts with at::get_num_threads() == 1 (OpenMP
// backend, omp_get_max_threads() == 1 here even with OMP_NUM_THREADS unset),
// while OpenBLAS starts with all CPUs: every process sets both explicitly.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace nmoe::compute {

struct ThreadOptions {
  int intra_op = 0;            // threads of one op (at::set_num_threads, BLAS); 0 = default below
  int inter_op = 0;            // at::set_num_interop_threads; 0 = 1 (nmoe runs no concurrent ops)
  int workers_on_machine = 1;  // workers sharing this machine's CPUs (for the default)
};

struct ThreadSettings {
  int intra_op = 0;  // at::get_num_threads() after applying
  int inter_op = 0;  // at::get_num_interop_threads() after applying
  int blas = 0;      // openblas_get_num_threads() after applying; 0 when not OpenBLAS
  std::string note;  // e.g. why inter-op threads could not be changed
};

// max(1, usable_cpus / workers_on_machine).
int DefaultIntraOpThreads(int usable_cpus, int workers_on_machine);

// Applies the options (defaults from `usable_cpus`) to LibTorch and OpenBLAS.
// INVALID_ARGUMENT on negative counts or workers_on_machine < 1. LibTorch lets
// the inter-op pool be sized once, before first use: a later different request
// keeps the current size and says so in `note` (not an error).
absl::StatusOr<ThreadSettings> ApplyThreads(const ThreadOptions& options, int usable_cpus);

}  // namespace nmoe::compute
