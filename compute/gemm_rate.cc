#include "compute/gemm_rate.h"

#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nmoe::compute {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

torch::ScalarType TorchDtype(ComputeDtype dtype) {
  return dtype == ComputeDtype::kBf16 ? torch::kBFloat16 : torch::kFloat32;
}

// Operands of one timed product: x_MK, w_NK (a linear weight), out_MN.
struct Operands {
  torch::Tensor x_MK, w_NK, out_MN;
};

Operands MakeOperands(ComputeDtype dtype, int64_t m, int64_t n, int64_t k) {
  const auto type = TorchDtype(dtype);
  Operands o;
  o.x_MK = (torch::rand({m, k}) * 2 - 1).to(type);
  o.w_NK = (torch::rand({n, k}) * 2 - 1).to(type);
  o.out_MN = torch::empty({m, n}, torch::TensorOptions().dtype(type));
  return o;
}

// Seconds of one product.
double TimeOne(Operands& o) {
  const auto start = Clock::now();
  at::mm_out(o.out_MN, o.x_MK, o.w_NK.t());
  return Since(start);
}

}  // namespace

absl::StatusOr<GemmRate> MeasureGemm(ComputeDtype dtype, int64_t m, int64_t n, int64_t k, double min_seconds,
                                     int min_iterations) {
  if (m <= 0 || n <= 0 || k <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("GEMM sizes must be positive; got ", m, "x", n, "x", k));
  }
  try {
    torch::NoGradGuard no_grad;
    Operands o = MakeOperands(dtype, m, n, k);
    TimeOne(o);  // warm-up: packing buffers, oneDNN primitive creation
    GemmRate rate{dtype, m, n, k, 0, 0, 0, 0};
    const double flop = 2.0 * static_cast<double>(m) * n * k;
    double best = std::numeric_limits<double>::infinity();
    const auto start = Clock::now();
    while (rate.iterations < std::max(1, min_iterations) || Since(start) < min_seconds) {
      best = std::min(best, TimeOne(o));
      ++rate.iterations;
    }
    rate.seconds = Since(start);
    rate.gflops = flop * rate.iterations / rate.seconds / 1e9;
    rate.best_gflops = flop / best / 1e9;
    return rate;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("timing ", ComputeDtypeName(dtype), " GEMM ", m, "x", n, "x", k, ": ",
                                            e.what_without_backtrace()));
  }
}

absl::StatusOr<GemmRate> QuickGemmRate(ComputeDtype dtype, double budget_seconds) {
  const auto start = Clock::now();
  int64_t size = 128;
  try {
    torch::NoGradGuard no_grad;
    for (;;) {
      Operands o = MakeOperands(dtype, size, size, size);
      TimeOne(o);  // warm-up
      // The fastest of three: one product can be descheduled on a busy machine.
      const double one = std::min({TimeOne(o), TimeOne(o), TimeOne(o)});
      // The next size costs ~8x; stop growing when that would exceed a quarter of the budget.
      if (size >= 2048 || 8 * one > budget_seconds / 4) break;
      size *= 2;
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("timing ", ComputeDtypeName(dtype), " GEMM: ", e.what_without_backtrace()));
  }
  const double rest = std::max(0.0, budget_seconds - Since(start));
  return MeasureGemm(dtype, size, size, size, rest, 1);
}

std::string DescribeGemmRate(const GemmRate& rate) {
  std::string shape = rate.m == rate.n && rate.n == rate.k ? absl::StrCat(rate.m, "^3")
                                                            : absl::StrCat(rate.m, "x", rate.n, "x", rate.k);
  return absl::StrFormat("%s %.1f GFLOP/s (best %.1f; %s x %d)", ComputeDtypeName(rate.dtype), rate.gflops,
                         rate.best_gflops, shape, rate.iterations);
}

}  // namespace nmoe::compute
