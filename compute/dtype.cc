#include "compute/dtype.h"

#include "absl/strings/str_cat.h"

#ifdef NMOE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace nmoe::compute {
namespace {

std::string GpuName(const GpuCaps& gpu) {
  return absl::StrCat(gpu.name.empty() ? "GPU" : gpu.name, " (compute capability ", gpu.cc_major, ".", gpu.cc_minor,
                      ")");
}

}  // namespace

const char* ComputeDtypeName(ComputeDtype dtype) { return dtype == ComputeDtype::kBf16 ? "bf16" : "fp32"; }

absl::StatusOr<DtypeChoice> ResolveComputeDtype(v1::ComputeDtype requested, v1::DeviceKind device,
                                                const CpuFeatures& cpu, const std::optional<GpuCaps>& gpu) {
  if (!v1::ComputeDtype_IsValid(requested)) {
    return absl::InvalidArgumentError(absl::StrCat("compute dtype ", static_cast<int>(requested), " is not one of "
                                                   "AUTO, FP32, BF16"));
  }
  if (!v1::DeviceKind_IsValid(device)) {
    return absl::InvalidArgumentError(absl::StrCat("device kind ", static_cast<int>(device), " is not CPU or CUDA"));
  }
  // From here on, anything but FP32 and BF16 is AUTO (UNSPECIFIED means AUTO).
  if (device == v1::DEVICE_KIND_CUDA) {
    if (!gpu) return absl::FailedPreconditionError("the job runs on CUDA but this worker sees no GPU");
    const bool bf16_ok = gpu->cc_major >= 8;
    if (requested == v1::COMPUTE_DTYPE_FP32) return DtypeChoice{ComputeDtype::kFp32, "fp32 requested"};
    if (requested == v1::COMPUTE_DTYPE_BF16) {
      if (!bf16_ok) {
        return absl::FailedPreconditionError(
            absl::StrCat("bf16 requested but ", GpuName(*gpu), " has no bf16 tensor cores (needs 8.0 or later)"));
      }
      return DtypeChoice{ComputeDtype::kBf16, "bf16 requested"};
    }
    if (bf16_ok) return DtypeChoice{ComputeDtype::kBf16, absl::StrCat("auto: ", GpuName(*gpu), " supports bf16")};
    return DtypeChoice{ComputeDtype::kFp32, absl::StrCat("auto: ", GpuName(*gpu), " lacks bf16 (needs 8.0 or later)")};
  }

  // CPU (DEVICE_KIND_CPU or unspecified).
  std::string units;
  if (cpu.amx_bf16_usable()) {
    units = "AMX-BF16";
  } else if (cpu.avx512_bf16_usable()) {
    units = "AVX512_BF16";
  }
  if (requested == v1::COMPUTE_DTYPE_FP32) return DtypeChoice{ComputeDtype::kFp32, "fp32 requested"};
  if (requested == v1::COMPUTE_DTYPE_BF16) {
    if (units.empty()) {
      return DtypeChoice{ComputeDtype::kBf16,
                         "bf16 requested; this CPU has neither AMX-BF16 nor AVX512_BF16, so bf16 matmuls run on "
                         "generic code, far slower than fp32"};
    }
    return DtypeChoice{ComputeDtype::kBf16, absl::StrCat("bf16 requested (", units, ")")};
  }
  if (!units.empty()) return DtypeChoice{ComputeDtype::kBf16, absl::StrCat("auto: the CPU has ", units)};
  return DtypeChoice{ComputeDtype::kFp32, "auto: the CPU has neither AMX-BF16 nor AVX512_BF16"};
}

std::optional<GpuCaps> DetectGpu() {
#ifdef NMOE_WITH_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return std::nullopt;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return std::nullopt;
  return GpuCaps{prop.name, prop.major, prop.minor};
#else
  return std::nullopt;
#endif
}

}  // namespace nmoe::compute
