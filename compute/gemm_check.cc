#include "compute/gemm_check.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nmoe::compute {

const std::vector<GemmShape>& SelfCheckShapes() {
  static const std::vector<GemmShape> shapes = {
      {64, 64, 64, false},  {127, 129, 131, false}, {127, 129, 131, true}, {256, 96, 513, true},
      {33, 517, 65, false}, {1, 300, 257, true},    {200, 1, 70, false},
  };
  return shapes;
}

std::vector<double> ReferenceGemm(int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool b_transposed) {
  std::vector<double> r(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double bv = b_transposed ? b[j * k + p] : b[p * n + j];
        sum += static_cast<double>(a[i * k + p]) * bv;
      }
      r[i * n + j] = sum;
    }
  }
  return r;
}

std::vector<float> SelfCheckInput(int64_t count, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& x : v) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    // The top 24 bits as a fraction in [0, 1), mapped to [-1, 1).
    x = static_cast<float>(static_cast<double>(state >> 40) / 16777216.0 * 2.0 - 1.0);
  }
  return v;
}

SelfCheckResult RunGemmSelfCheck(const GemmFn& gemm, double bound) {
  SelfCheckResult result;
  result.passed = true;
  uint64_t seed = 1;
  for (const GemmShape& s : SelfCheckShapes()) {
    const std::string name = absl::StrFormat("%dx%dx%d%s", s.m, s.n, s.k, s.b_transposed ? " (B^T)" : "");
    const std::vector<float> a = SelfCheckInput(s.m * s.k, seed++);
    const std::vector<float> b = SelfCheckInput(s.k * s.n, seed++);
    // Pre-filled with NaN: a GEMM that leaves entries unwritten fails.
    std::vector<float> c(static_cast<size_t>(s.m * s.n), std::numeric_limits<float>::quiet_NaN());
    if (absl::Status st = gemm(s.m, s.n, s.k, a.data(), b.data(), s.b_transposed, c.data()); !st.ok()) {
      result.passed = false;
      result.max_rel_error = std::numeric_limits<double>::infinity();
      result.detail = absl::StrCat("GEMM ", name, " failed: ", st.ToString());
      return result;
    }
    const std::vector<double> r = ReferenceGemm(s.m, s.n, s.k, a.data(), b.data(), s.b_transposed);
    double diff2 = 0, ref2 = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      const double d = static_cast<double>(c[i]) - r[i];
      diff2 += d * d;
      ref2 += r[i] * r[i];
    }
    double rel = std::sqrt(diff2 / ref2);
    if (!std::isfinite(rel)) rel = std::numeric_limits<double>::infinity();
    if (result.detail.empty() || rel > result.max_rel_error) {
      result.max_rel_error = rel;
      result.detail = absl::StrFormat("worst %s: relative error %.3g", name, rel);
    }
    // Written so that NaN fails: !(NaN < bound).
    if (!(rel < bound)) {
      result.passed = false;
      result.detail = absl::StrFormat("%s: relative error %.3g exceeds %.1g", name, rel, bound);
      return result;
    }
  }
  return result;
}

}  // namespace nmoe::compute
