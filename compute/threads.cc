#include "compute/threads.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "compute/blas_probe.h"

namespace nmoe::compute {

int DefaultIntraOpThreads(int usable_cpus, int workers_on_machine) {
  return std::max(1, usable_cpus / std::max(1, workers_on_machine));
}

absl::StatusOr<ThreadSettings> ApplyThreads(const ThreadOptions& options, int usable_cpus) {
  if (options.intra_op < 0 || options.inter_op < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("thread counts must be >= 0 (0 = default); got intra_op ", options.intra_op, ", inter_op ",
                     options.inter_op));
  }
  if (options.workers_on_machine < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("workers_on_machine must be >= 1; got ", options.workers_on_machine));
  }
  const int intra = options.intra_op > 0 ? options.intra_op
                                         : DefaultIntraOpThreads(usable_cpus, options.workers_on_machine);
  const int inter = options.inter_op > 0 ? options.inter_op : 1;
  ThreadSettings out;
  try {
    at::set_num_threads(intra);
    // Always set (a first set pins the size; skipping when the default already
    // matches would leave it open to a later, different request).
    try {
      at::set_num_interop_threads(inter);
    } catch (const c10::Error& e) {
      if (at::get_num_interop_threads() != inter) {
        out.note = absl::StrCat("inter-op threads stay at ", at::get_num_interop_threads(),
                                " (LibTorch sizes that pool once per process)");
      }
    }
    out.intra_op = at::get_num_threads();
    out.inter_op = at::get_num_interop_threads();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("setting LibTorch threads: ", e.what_without_backtrace()));
  }
  // With OpenMP OpenBLAS, GEMMs follow the caller's omp_get_max_threads()
  // (which at::set_num_threads sets); setting OpenBLAS too keeps its own
  // count (and pthread builds) in line.
  if (SetBlasThreads(intra)) out.blas = ProbeBlas().threads;
  return out;
}

}  // namespace nmoe::compute
