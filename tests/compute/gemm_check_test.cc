// The float64 reference and the self-check's verdicts on good and bad GEMMs.
#include "compute/gemm_check.h"

#include <cmath>
#include <limits>

#include "compute/torch_gemm.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

using ::testing::HasSubstr;

TEST(ReferenceGemmTest, HandComputed) {
  // A = [[1, 2], [3, 4]], B = [[5, 6, 7], [8, 9, 10]] -> [[21, 24, 27], [47, 54, 61]].
  const float a[] = {1, 2, 3, 4};
  const float b[] = {5, 6, 7, 8, 9, 10};
  EXPECT_THAT(ReferenceGemm(2, 3, 2, a, b, false), ::testing::ElementsAre(21, 24, 27, 47, 54, 61));
  // The same B stored transposed (3 x 2).
  const float bt[] = {5, 8, 6, 9, 7, 10};
  EXPECT_THAT(ReferenceGemm(2, 3, 2, a, bt, true), ::testing::ElementsAre(21, 24, 27, 47, 54, 61));
}

TEST(SelfCheckInputTest, DeterministicAndInRange) {
  const auto x = SelfCheckInput(1000, 3);
  EXPECT_EQ(x, SelfCheckInput(1000, 3));
  EXPECT_NE(x, SelfCheckInput(1000, 4));
  double mean = 0;
  for (float v : x) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LT(v, 1.0f);
    mean += v / 1000.0;
  }
  EXPECT_NEAR(mean, 0.0, 0.1);
}

// A straightforward fp32 GEMM (float accumulation, no BLAS).
absl::Status NaiveGemm(int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool bt, float* c) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += a[i * k + p] * (bt ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = sum;
    }
  }
  return absl::OkStatus();
}

// NaiveGemm, then every output scaled by (1 + delta).
GemmFn Scaled(double delta) {
  return [delta](int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool bt, float* c) {
    absl::Status st = NaiveGemm(m, n, k, a, b, bt, c);
    for (int64_t i = 0; i < m * n; ++i) c[i] = static_cast<float>(c[i] * (1.0 + delta));
    return st;
  };
}

TEST(SelfCheckTest, CorrectGemmsPass) {
  const SelfCheckResult naive = RunGemmSelfCheck(NaiveGemm);
  EXPECT_TRUE(naive.passed) << naive.detail;
  EXPECT_LT(naive.max_rel_error, 1e-6);
  const SelfCheckResult torch = RunGemmSelfCheck(TorchFp32Gemm());
  EXPECT_TRUE(torch.passed) << torch.detail;
  EXPECT_LT(torch.max_rel_error, 1e-6) << torch.detail;
}

TEST(SelfCheckTest, TheBoundSeparatesRoundingFromWrongResults) {
  EXPECT_TRUE(RunGemmSelfCheck(Scaled(1e-6)).passed);
  const SelfCheckResult bad = RunGemmSelfCheck(Scaled(1e-4));
  EXPECT_FALSE(bad.passed);
  EXPECT_NEAR(bad.max_rel_error, 1e-4, 2e-6);
  EXPECT_THAT(bad.detail, HasSubstr("exceeds"));
}

TEST(SelfCheckTest, RejectsADroppedKTail) {
  // A kernel that forgets the last element of K when K is odd (a blocking bug).
  GemmFn tail_bug = [](int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool bt, float* c) {
    const int64_t kk = k % 2 == 1 ? k - 1 : k;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        float sum = 0;
        for (int64_t p = 0; p < kk; ++p) sum += a[i * k + p] * (bt ? b[j * k + p] : b[p * n + j]);
        c[i * n + j] = sum;
      }
    }
    return absl::OkStatus();
  };
  const SelfCheckResult r = RunGemmSelfCheck(tail_bug);
  EXPECT_FALSE(r.passed);
  EXPECT_THAT(r.detail, HasSubstr("127x129x131"));
}

TEST(SelfCheckTest, RejectsUnwrittenOutputNaNAndErrors) {
  GemmFn skips_last_row = [](int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool bt, float* c) {
    return NaiveGemm(m > 1 ? m - 1 : m, n, k, a, b, bt, c);
  };
  EXPECT_FALSE(RunGemmSelfCheck(skips_last_row).passed);

  GemmFn nan = [](int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool bt, float* c) {
    absl::Status st = NaiveGemm(m, n, k, a, b, bt, c);
    c[0] = std::numeric_limits<float>::quiet_NaN();
    return st;
  };
  const SelfCheckResult r = RunGemmSelfCheck(nan);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(std::isinf(r.max_rel_error));

  GemmFn fails = [](int64_t, int64_t, int64_t, const float*, const float*, bool, float*) {
    return absl::InternalError("no kernel");
  };
  const SelfCheckResult e = RunGemmSelfCheck(fails);
  EXPECT_FALSE(e.passed);
  EXPECT_THAT(e.detail, HasSubstr("no kernel"));
}

}  // namespace
}  // namespace nmoe::compute
