// What a worker offers the coordinator: its device, memory, threads, version
// and host (WorkerCapabilities), and the --device flag that picks the device.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nmoe/v1/worker_service.pb.h"

namespace nmoe::worker {

struct Device {
  v1::DeviceKind kind = v1::DEVICE_KIND_CPU;
  uint32_t index = 0;
};

// "cpu", or "cuda:N" (also "cuda" = cuda:0). cuda is accepted only in a build
// with NMOE_GPU on a machine where LibTorch sees a GPU with that index;
// otherwise INVALID_ARGUMENT (FAILED_PRECONDITION for a missing GPU) saying why.
absl::StatusOr<Device> ParseDevice(const std::string& text);

// The device, physical memory (CPU) or the GPU's memory, threads, this
// binary's version and the host name.
v1::WorkerCapabilities DetectCapabilities(const Device& device, int threads);

}  // namespace nmoe::worker
