// Thread settings applied to LibTorch and OpenBLAS, and the GEMM timers.
#include "compute/threads.h"

#include <ATen/Parallel.h>

#include <chrono>

#include "compute/blas_probe.h"
#include "compute/compute_info.h"
#include "compute/gemm_rate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

TEST(ThreadsTest, DefaultDividesCpusAmongWorkers) {
  EXPECT_EQ(DefaultIntraOpThreads(8, 1), 8);
  EXPECT_EQ(DefaultIntraOpThreads(8, 3), 2);
  EXPECT_EQ(DefaultIntraOpThreads(2, 4), 1);
  EXPECT_EQ(DefaultIntraOpThreads(0, 1), 1);
}

TEST(ThreadsTest, RejectsBadOptions) {
  EXPECT_EQ(ApplyThreads({-1, 0, 1}, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyThreads({0, -2, 1}, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyThreads({0, 0, 0}, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

// One test: LibTorch sizes the inter-op pool once per process.
TEST(ThreadsTest, AppliesToLibTorchAndOpenBlas) {
  const bool openblas = ProbeBlas().is_openblas();
  auto two = ApplyThreads({2, 1, 1}, 8);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->intra_op, 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(two->inter_op, 1);
  EXPECT_EQ(at::get_num_interop_threads(), 1);
  if (openblas) {
    EXPECT_EQ(two->blas, 2);
  }
  EXPECT_TRUE(two->note.empty()) << two->note;

  // Default: 6 usable CPUs over 3 workers.
  auto dflt = ApplyThreads({0, 0, 3}, 6);
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(dflt->intra_op, 2);

  auto one = ApplyThreads({1, 0, 1}, 8);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(at::get_num_threads(), 1);
  if (openblas) {
    EXPECT_EQ(ProbeBlas().threads, 1);
  }

  // A different inter-op size after the first: kept, with a note, not an error.
  auto later = ApplyThreads({1, 3, 1}, 8);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->inter_op, 1);
  EXPECT_THAT(later->note, ::testing::HasSubstr("inter-op"));
}

TEST(GemmRateTest, MeasuresWhatItWasAsked) {
  EXPECT_EQ(MeasureGemm(ComputeDtype::kFp32, 0, 8, 8, 0).status().code(), absl::StatusCode::kInvalidArgument);
  auto fp32 = MeasureGemm(ComputeDtype::kFp32, 64, 48, 32, 0.0, 3);
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  EXPECT_EQ(fp32->iterations, 3);
  EXPECT_GT(fp32->gflops, 0);
  EXPECT_NEAR(fp32->gflops, 2.0 * 64 * 48 * 32 * 3 / fp32->seconds / 1e9, 1e-6 * fp32->gflops);
  EXPECT_GE(fp32->best_gflops, fp32->gflops * 0.999);  // the fastest product is at least the mean
  auto bf16 = MeasureGemm(ComputeDtype::kBf16, 32, 32, 32, 0.0, 1);
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_EQ(bf16->dtype, ComputeDtype::kBf16);
  EXPECT_THAT(DescribeGemmRate(*bf16), ::testing::StartsWith("bf16 "));
}

TEST(GemmRateTest, QuickRateStaysNearItsBudget) {
  const auto start = std::chrono::steady_clock::now();
  auto rate = QuickGemmRate(ComputeDtype::kFp32, 0.2);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(rate.ok()) << rate.status();
  EXPECT_GT(rate->gflops, 0);
  EXPECT_GE(rate->m, 128);
  EXPECT_LE(rate->m, 2048);
  // A guard against a runaway measurement loop, not a speed check: on a quiet machine it takes
  // the budget plus a warm-up and one overshooting product (~0.25 s), but a shared 2-core CI
  // machine stretches wall time several-fold (0.61 s was seen), so the bound is loose.
  EXPECT_LT(seconds, 0.2 * 15);
}

TEST(InitComputeTest, AppliesThreadsAndMeasures) {
  BlasKernelReport kernels;
  kernels.action = "kept";
  auto info = InitCompute(kernels, ComputeOptions{{1, 0, 1}, 0.2});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->threads.intra_op, 1);
  EXPECT_NE(info->blas.kind, BlasKind::kNone);
  ASSERT_TRUE(info->fp32.has_value() && info->bf16.has_value());
  EXPECT_GT(info->fp32->gflops, 0);
  EXPECT_GT(info->bf16->gflops, 0);
  auto unmeasured = InitCompute(kernels, ComputeOptions{{1, 0, 1}, 0});
  ASSERT_TRUE(unmeasured.ok());
  EXPECT_FALSE(unmeasured->fp32.has_value());
}

}  // namespace
}  // namespace nmoe::compute
