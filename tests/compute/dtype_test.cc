// Compute dtype resolution with injected CPU and GPU capabilities.
#include "compute/dtype.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

using ::testing::HasSubstr;

CpuFeatures PlainAvx2() {
  CpuFeatures c;
  c.avx = c.avx2 = c.fma = c.os_ymm = true;
  return c;
}

CpuFeatures WithAvx512Bf16() {
  CpuFeatures c = PlainAvx2();
  c.avx512f = c.avx512cd = c.avx512bw = c.avx512dq = c.avx512vl = c.avx512_bf16 = c.os_zmm = true;
  return c;
}

CpuFeatures WithAmx() {
  CpuFeatures c = WithAvx512Bf16();
  c.amx_tile = c.amx_bf16 = c.os_amx = true;
  return c;
}

DtypeChoice Resolve(v1::ComputeDtype requested, v1::DeviceKind device, const CpuFeatures& cpu,
                    std::optional<GpuCaps> gpu = std::nullopt) {
  auto r = ResolveComputeDtype(requested, device, cpu, gpu);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : DtypeChoice{};
}

TEST(ResolveComputeDtypeTest, AutoOnCpus) {
  DtypeChoice amx = Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CPU, WithAmx());
  EXPECT_EQ(amx.dtype, ComputeDtype::kBf16);
  EXPECT_THAT(amx.reason, HasSubstr("AMX-BF16"));
  DtypeChoice avx512 = Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CPU, WithAvx512Bf16());
  EXPECT_EQ(avx512.dtype, ComputeDtype::kBf16);
  EXPECT_THAT(avx512.reason, HasSubstr("AVX512_BF16"));
  DtypeChoice plain = Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CPU, PlainAvx2());
  EXPECT_EQ(plain.dtype, ComputeDtype::kFp32);
  EXPECT_THAT(plain.reason, HasSubstr("neither"));
  // UNSPECIFIED is AUTO; UNSPECIFIED device is CPU.
  EXPECT_EQ(Resolve(v1::COMPUTE_DTYPE_UNSPECIFIED, v1::DEVICE_KIND_UNSPECIFIED, WithAmx()).dtype, ComputeDtype::kBf16);
}

TEST(ResolveComputeDtypeTest, OsMustEnableTheState) {
  CpuFeatures amx_off = WithAmx();
  amx_off.os_amx = false;  // AMX in cpuid, XTILEDATA not in XCR0: falls back to AVX512_BF16
  EXPECT_THAT(Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CPU, amx_off).reason, HasSubstr("AVX512_BF16"));
  amx_off.os_zmm = false;  // nor ZMM state: fp32
  EXPECT_EQ(Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CPU, amx_off).dtype, ComputeDtype::kFp32);
}

TEST(ResolveComputeDtypeTest, ExplicitRequestsAreHonoured) {
  EXPECT_EQ(Resolve(v1::COMPUTE_DTYPE_FP32, v1::DEVICE_KIND_CPU, WithAmx()).dtype, ComputeDtype::kFp32);
  DtypeChoice slow = Resolve(v1::COMPUTE_DTYPE_BF16, v1::DEVICE_KIND_CPU, PlainAvx2());
  EXPECT_EQ(slow.dtype, ComputeDtype::kBf16);
  EXPECT_THAT(slow.reason, HasSubstr("slower"));
}

TEST(ResolveComputeDtypeTest, Cuda) {
  const GpuCaps a100{"A100", 8, 0}, v100{"V100", 7, 0};
  EXPECT_EQ(Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CUDA, PlainAvx2(), a100).dtype, ComputeDtype::kBf16);
  DtypeChoice old = Resolve(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CUDA, WithAmx(), v100);
  EXPECT_EQ(old.dtype, ComputeDtype::kFp32);  // the GPU decides, not the host CPU
  EXPECT_THAT(old.reason, HasSubstr("V100"));
  auto bf16_on_v100 = ResolveComputeDtype(v1::COMPUTE_DTYPE_BF16, v1::DEVICE_KIND_CUDA, PlainAvx2(), v100);
  EXPECT_EQ(bf16_on_v100.status().code(), absl::StatusCode::kFailedPrecondition);
  auto no_gpu = ResolveComputeDtype(v1::COMPUTE_DTYPE_AUTO, v1::DEVICE_KIND_CUDA, PlainAvx2(), std::nullopt);
  EXPECT_EQ(no_gpu.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ResolveComputeDtypeTest, RejectsValuesOutsideTheEnums) {
  EXPECT_EQ(ResolveComputeDtype(static_cast<v1::ComputeDtype>(42), v1::DEVICE_KIND_CPU, PlainAvx2(), std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveComputeDtype(v1::COMPUTE_DTYPE_AUTO, static_cast<v1::DeviceKind>(9), PlainAvx2(), std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nmoe::compute
