// The kernel-family decision with injected CPUs and BLAS reports.
#include "compute/openblas_kernels.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

using ::testing::HasSubstr;

CpuFeatures Avx2Cpu() {
  CpuFeatures c;
  c.sse3 = c.ssse3 = c.sse4_1 = c.sse4_2 = true;
  c.avx = c.fma = c.f16c = c.avx2 = true;
  c.os_ymm = true;
  return c;
}

CpuFeatures Avx512AmxCpu() {  // a Sapphire Rapids Xeon as cpuid reports it
  CpuFeatures c = Avx2Cpu();
  c.avx512f = c.avx512cd = c.avx512bw = c.avx512dq = c.avx512vl = c.avx512_vnni = c.avx512_bf16 = true;
  c.amx_tile = c.amx_bf16 = c.amx_int8 = true;
  c.os_zmm = c.os_amx = true;
  return c;
}

CpuFeatures AvxOnlyCpu() {
  CpuFeatures c;
  c.sse3 = c.ssse3 = c.sse4_1 = c.sse4_2 = c.avx = true;
  c.os_ymm = true;
  return c;
}

BlasInfo OpenBlas(const std::string& corename) {
  BlasInfo b;
  b.kind = BlasKind::kOpenBlas;
  b.version = "0.3.21";
  b.corename = corename;
  return b;
}

TEST(OpenBlasFamilyTest, Levels) {
  EXPECT_EQ(OpenBlasFamilyLevel("Prescott"), IsaLevel::kBaseline);
  EXPECT_EQ(OpenBlasFamilyLevel("Nehalem"), IsaLevel::kBaseline);
  EXPECT_EQ(OpenBlasFamilyLevel("Sandybridge"), IsaLevel::kAvx);
  EXPECT_EQ(OpenBlasFamilyLevel("haswell"), IsaLevel::kAvx2);
  EXPECT_EQ(OpenBlasFamilyLevel("Zen"), IsaLevel::kAvx2);
  EXPECT_EQ(OpenBlasFamilyLevel("SkylakeX"), IsaLevel::kAvx512);
  EXPECT_EQ(OpenBlasFamilyLevel("Cooperlake"), IsaLevel::kAvx512);
  EXPECT_EQ(OpenBlasFamilyLevel("Unknown"), std::nullopt);
  EXPECT_EQ(OpenBlasFamilyLevel("NeoverseN1"), std::nullopt);
  EXPECT_EQ(CanonicalOpenBlasFamily("SKYLAKEX"), "SkylakeX");
}

TEST(OpenBlasFamilyTest, BestFamilyFollowsUsableIsa) {
  EXPECT_EQ(BestOpenBlasFamily(Avx512AmxCpu()), "SkylakeX");
  EXPECT_EQ(BestOpenBlasFamily(Avx2Cpu()), "Haswell");
  EXPECT_EQ(BestOpenBlasFamily(AvxOnlyCpu()), "Sandybridge");
  EXPECT_EQ(BestOpenBlasFamily(CpuFeatures{}), std::nullopt);
  // AVX-512 in cpuid but ZMM state not enabled by the OS: AVX2 is the best usable.
  CpuFeatures no_os = Avx512AmxCpu();
  no_os.os_zmm = false;
  EXPECT_EQ(BestOpenBlasFamily(no_os), "Haswell");
  // AVX2 without FMA3 is not enough for Haswell's kernels.
  CpuFeatures no_fma = Avx2Cpu();
  no_fma.fma = false;
  EXPECT_EQ(BestOpenBlasFamily(no_fma), "Sandybridge");
}

TEST(OpenBlasFamilyTest, CpuSupportsFamily) {
  EXPECT_TRUE(CpuSupportsFamily(Avx2Cpu(), "Prescott"));
  EXPECT_TRUE(CpuSupportsFamily(Avx2Cpu(), "Haswell"));
  EXPECT_FALSE(CpuSupportsFamily(Avx2Cpu(), "SkylakeX"));
  EXPECT_TRUE(CpuSupportsFamily(Avx512AmxCpu(), "Cooperlake"));
  CpuFeatures no_bf16 = Avx512AmxCpu();
  no_bf16.avx512_bf16 = false;
  EXPECT_TRUE(CpuSupportsFamily(no_bf16, "SkylakeX"));
  EXPECT_FALSE(CpuSupportsFamily(no_bf16, "Cooperlake"));
  EXPECT_FALSE(CpuSupportsFamily(Avx512AmxCpu(), "Bogus"));
}

TEST(KernelRequestTest, Parses) {
  EXPECT_EQ(ParseKernelRequest("")->mode, KernelMode::kAuto);
  EXPECT_EQ(ParseKernelRequest("AUTO")->mode, KernelMode::kAuto);
  EXPECT_EQ(ParseKernelRequest("best")->mode, KernelMode::kBest);
  EXPECT_EQ(ParseKernelRequest("off")->mode, KernelMode::kOff);
  auto forced = ParseKernelRequest("skylakex");
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->mode, KernelMode::kForce);
  EXPECT_EQ(forced->family, "SkylakeX");
  auto bad = ParseKernelRequest("fastest");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'fastest'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("auto, best, off"));
}

const KernelRequest kAuto{KernelMode::kAuto, ""};
const KernelRequest kBest{KernelMode::kBest, ""};

TEST(DecideKernelsTest, MisdetectedXeonSwitchesToSkylakeX) {
  const KernelDecision d = DecideKernels(kAuto, Avx512AmxCpu(), OpenBlas("Prescott"), std::nullopt);
  EXPECT_TRUE(d.reexec);
  EXPECT_EQ(d.family, "SkylakeX");
  EXPECT_THAT(d.reason, HasSubstr("Prescott"));
}

TEST(DecideKernelsTest, OldFamilyOnAvx2AndAvxCpus) {
  EXPECT_EQ(DecideKernels(kAuto, Avx2Cpu(), OpenBlas("Prescott"), std::nullopt).family, "Haswell");
  EXPECT_EQ(DecideKernels(kAuto, Avx2Cpu(), OpenBlas("Sandybridge"), std::nullopt).family, "Haswell");
  EXPECT_EQ(DecideKernels(kAuto, AvxOnlyCpu(), OpenBlas("Nehalem"), std::nullopt).family, "Sandybridge");
}

TEST(DecideKernelsTest, KeepsAFamilyAtTheCpusLevel) {
  EXPECT_FALSE(DecideKernels(kAuto, Avx2Cpu(), OpenBlas("Zen"), std::nullopt).reexec);
  EXPECT_FALSE(DecideKernels(kAuto, Avx2Cpu(), OpenBlas("Haswell"), std::nullopt).reexec);
  EXPECT_FALSE(DecideKernels(kAuto, Avx512AmxCpu(), OpenBlas("SkylakeX"), std::nullopt).reexec);
  EXPECT_FALSE(DecideKernels(kAuto, Avx512AmxCpu(), OpenBlas("Cooperlake"), std::nullopt).reexec);
  EXPECT_FALSE(DecideKernels(kAuto, CpuFeatures{}, OpenBlas("Prescott"), std::nullopt).reexec);
}

TEST(DecideKernelsTest, LeavesUnknownFamiliesAlone) {
  const KernelDecision d = DecideKernels(kAuto, Avx512AmxCpu(), OpenBlas("Granite"), std::nullopt);
  EXPECT_FALSE(d.reexec);
  EXPECT_THAT(d.reason, HasSubstr("does not know"));
}

TEST(DecideKernelsTest, UserCoretypeWinsInAutoButNotInBest) {
  const KernelDecision kept = DecideKernels(kAuto, Avx512AmxCpu(), OpenBlas("Prescott"), "Prescott");
  EXPECT_FALSE(kept.reexec);
  EXPECT_THAT(kept.reason, HasSubstr("OPENBLAS_CORETYPE=Prescott"));
  const KernelDecision best = DecideKernels(kBest, Avx512AmxCpu(), OpenBlas("Prescott"), "Prescott");
  EXPECT_TRUE(best.reexec);
  EXPECT_EQ(best.family, "SkylakeX");
}

TEST(DecideKernelsTest, NotOpenBlasOrOff) {
  BlasInfo reference;
  reference.kind = BlasKind::kReference;
  const KernelDecision d = DecideKernels(kAuto, Avx512AmxCpu(), reference, std::nullopt);
  EXPECT_FALSE(d.reexec);
  EXPECT_THAT(d.reason, HasSubstr("reference BLAS"));
  EXPECT_FALSE(DecideKernels({KernelMode::kOff, ""}, Avx512AmxCpu(), OpenBlas("Prescott"), std::nullopt).reexec);
}

TEST(DecideKernelsTest, ForcedFamily) {
  const KernelDecision to_haswell = DecideKernels({KernelMode::kForce, "Haswell"}, Avx2Cpu(), OpenBlas("Zen"), "Zen");
  EXPECT_TRUE(to_haswell.reexec);
  EXPECT_EQ(to_haswell.family, "Haswell");
  const KernelDecision down = DecideKernels({KernelMode::kForce, "Prescott"}, Avx2Cpu(), OpenBlas("Zen"), std::nullopt);
  EXPECT_TRUE(down.reexec);
  EXPECT_EQ(down.family, "Prescott");
  const KernelDecision same = DecideKernels({KernelMode::kForce, "Zen"}, Avx2Cpu(), OpenBlas("Zen"), std::nullopt);
  EXPECT_FALSE(same.reexec);
  const KernelDecision refused =
      DecideKernels({KernelMode::kForce, "SkylakeX"}, Avx2Cpu(), OpenBlas("Zen"), std::nullopt);
  EXPECT_FALSE(refused.reexec);
  EXPECT_THAT(refused.reason, HasSubstr("needs more than this CPU offers"));
}

}  // namespace
}  // namespace nmoe::compute
