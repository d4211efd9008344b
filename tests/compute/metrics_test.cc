// The compute series as Prometheus serialises them.
#include "compute/compute_metrics.h"

#include <prometheus/text_serializer.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ComputeInfo SampleInfo() {
  ComputeInfo info;
  info.cpu.model = "Test CPU";
  info.cpu.avx = info.cpu.avx2 = info.cpu.fma = info.cpu.os_ymm = true;
  info.cpu.online_cpus = 4;
  info.cpu.usable_cpus = 2;
  info.blas.kind = BlasKind::kOpenBlas;
  info.blas.version = "0.3.21";
  info.blas.corename = "Haswell";
  info.kernels.action = "switched";
  info.kernels.self_checked = true;
  info.kernels.self_check.max_rel_error = 2.5e-7;
  info.threads = {2, 1, 2, ""};
  info.fp32 = GemmRate{ComputeDtype::kFp32, 1024, 1024, 1024, 5, 0.2, 55.5, 60.25};
  info.bf16 = GemmRate{ComputeDtype::kBf16, 256, 256, 256, 30, 0.25, 3.5, 4};
  return info;
}

std::string Serialize(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(ComputeMetricsTest, RegistersEverySeries) {
  prometheus::Registry registry;
  RegisterComputeMetrics(registry, SampleInfo());
  const std::string text = Serialize(registry);
  // prometheus-cpp serialises labels sorted by name.
  EXPECT_THAT(text, HasSubstr("nmoe_compute_info{blas=\"OpenBLAS\",blas_version=\"0.3.21\",cpu_isa=\"AVX2\","
                              "cpu_model=\"Test CPU\",kernel=\"Haswell\",kernel_action=\"switched\"} 1"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_gemm_gflops{dtype=\"fp32\",stat=\"mean\"} 55.5"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_gemm_gflops{dtype=\"fp32\",stat=\"best\"} 60.25"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_gemm_gflops{dtype=\"bf16\",stat=\"mean\"} 3.5"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_threads{pool=\"intra_op\"} 2"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_threads{pool=\"inter_op\"} 1"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_threads{pool=\"blas\"} 2"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_cpus{kind=\"usable\"} 2"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_cpu_feature{feature=\"avx2\"} 1"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_cpu_feature{feature=\"amx_bf16\"} 0"));
  EXPECT_THAT(text, HasSubstr("nmoe_compute_blas_self_check_rel_error 2.5e-07"));
}

TEST(ComputeMetricsTest, UnmeasuredFiguresAreAbsent) {
  ComputeInfo info = SampleInfo();
  info.fp32.reset();
  info.bf16.reset();
  info.kernels.self_checked = false;
  prometheus::Registry registry;
  RegisterComputeMetrics(registry, info);
  const std::string text = Serialize(registry);
  EXPECT_THAT(text, Not(HasSubstr("nmoe_compute_gemm_gflops{")));
  EXPECT_THAT(text, Not(HasSubstr("nmoe_compute_blas_self_check_rel_error ")));
}

TEST(ComputeSummaryTest, OneLineWithTheFigures) {
  const std::string line = ComputeSummaryLine(SampleInfo());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr("OpenBLAS 0.3.21"));
  EXPECT_THAT(line, HasSubstr("kernels Haswell"));
  EXPECT_THAT(line, HasSubstr("threads intra 2 inter 1 blas 2"));
  EXPECT_THAT(line, HasSubstr("fp32 55.5 GFLOP/s (best 60.2; 1024^3 x 5)"));
  EXPECT_THAT(line, HasSubstr("bf16 3.5 GFLOP/s (best 4.0; 256^3 x 30)"));
}

}  // namespace
}  // namespace nmoe::compute
