// Compute dtype of a job: the proto's fp32 / bf16 / auto resolved for the
// device it runs on (no torch).
//
// auto picks bf16 only where matrix products have hardware bf16 support:
//   CPU: AMX-BF16 (tile units) or AVX512_BF16 (dot-product instructions);
//        LibTorch sends bf16 matmuls to oneDNN there. Without them bf16 runs
//        on LibTorch's generic loops, measured ~15x slower than fp32 OpenBLAS
//        on an AVX2-only EPYC (docs/compute.md).
//   CUDA: compute capability >= 8.0 (Ampere and later).
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "compute/cpu_features.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe::compute {

enum class ComputeDtype { kFp32, kBf16 };

// "fp32", "bf16".
const char* ComputeDtypeName(ComputeDtype dtype);

struct GpuCaps {
  std::string name;
  int cc_major = 0;
  int cc_minor = 0;
};

struct DtypeChoice {
  ComputeDtype dtype = ComputeDtype::kFp32;
  std::string reason;  // one sentence, for logs and job events
};

// INVALID_ARGUMENT for values outside the enum; FAILED_PRECONDITION for a CUDA
// job without a visible GPU, or bf16 requested on a GPU below compute
// capability 8.0. bf16 requested on a CPU without bf16 units is honoured with
// a reason that says it will be slow.
absl::StatusOr<DtypeChoice> ResolveComputeDtype(v1::ComputeDtype requested, v1::DeviceKind device,
                                                const CpuFeatures& cpu, const std::optional<GpuCaps>& gpu);

// The first CUDA device's capabilities (CUDA builds, NMOE_WITH_CUDA); nullopt
// in CPU builds or when no device is visible.
std::optional<GpuCaps> DetectGpu();

}  // namespace nmoe::compute
