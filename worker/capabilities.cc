#include "worker/capabilities.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"

#ifdef NMOE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace nmoe::worker {

absl::StatusOr<Device> ParseDevice(const std::string& text) {
  if (text == "cpu") return Device{v1::DEVICE_KIND_CPU, 0};
  if (text != "cuda" && !absl::StartsWith(text, "cuda:")) {
    return absl::InvalidArgumentError(absl::StrCat("--device: '", text, "' is not cpu or cuda:N"));
  }
  uint32_t index = 0;
  if (text != "cuda" && !absl::SimpleAtoi(text.substr(5), &index)) {
    return absl::InvalidArgumentError(absl::StrCat("--device: '", text, "': N of cuda:N must be a GPU index"));
  }
#ifdef NMOE_WITH_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
  if (count == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--device ", text, ": no CUDA GPU visible (driver missing or CUDA_VISIBLE_DEVICES empty)"));
  }
  if (index >= static_cast<uint32_t>(count)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--device ", text, ": only ", count, " GPU(s) visible (cuda:0..cuda:", count - 1, ")"));
  }
  return Device{v1::DEVICE_KIND_CUDA, index};
#else
  return absl::InvalidArgumentError(
      absl::StrCat("--device ", text, ": this nmoe-worker was built without GPU support (configure with -DNMOE_GPU=ON)"));
#endif
}

v1::WorkerCapabilities DetectCapabilities(const Device& device, int threads) {
  v1::WorkerCapabilities caps;
  caps.set_device(device.kind);
  caps.set_device_index(device.index);
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) caps.set_memory_bytes(static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size));
#ifdef NMOE_WITH_CUDA
  if (device.kind == v1::DEVICE_KIND_CUDA) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, static_cast<int>(device.index)) == cudaSuccess) {
      caps.set_memory_bytes(prop.totalGlobalMem);
    }
  }
#endif
  caps.set_threads(static_cast<uint32_t>(threads));
  caps.set_version(kVersion);
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) caps.set_hostname(host);
  return caps;
}

}  // namespace nmoe::worker
