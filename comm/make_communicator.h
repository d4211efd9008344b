// Building a communicator: the options every backend shares and the factory.
#pragma once

#include <memory>
#include <string>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "comm/communicator.h"
#include "comm/rendezvous_store.h"

namespace nmoe::comm {

enum class Backend { kAuto, kGloo, kNccl };

struct CommOptions {
  // kAuto: NCCL for a CUDA device in a GPU build, Gloo otherwise.
  Backend backend = Backend::kAuto;
  int rank = 0;
  int world_size = 1;
  // Shared by all ranks; must outlive the factory call (not the communicator).
  RendezvousStore* store = nullptr;
  // Namespace of this communicator's keys in the store: two communicators of
  // one gang (or one job attempt) need different prefixes.
  std::string prefix = "comm";
  torch::Device device = torch::Device(torch::kCPU);
  // Bounds every collective, and rendezvous unless rendezvous_timeout is set.
  absl::Duration timeout = absl::Seconds(60);
  // Bounds forming the communicator (ranks of a gang start at different
  // times); zero = `timeout`.
  absl::Duration rendezvous_timeout = absl::ZeroDuration();
  // Gloo: the address other ranks reach this one at. `iface` (e.g. "lo",
  // "eth0") wins over `hostname`; both empty = this machine's hostname. The
  // port is always an ephemeral one, published through the store.
  std::string hostname;
  std::string iface;
  // Before each collective, all-gather a small fingerprint (op, dtype, shape,
  // root) and fail with INVALID_ARGUMENT naming the rank that differs. Costs
  // one tiny extra collective per call (bench/RESULTS.md, "comm"). Gloo only.
  // Turn off only where every rank provably passes the same shapes: Gloo
  // enforces message sizes in its I/O thread, so a rank sending more than its
  // peer expects aborts the receiving process (std::terminate).
  bool verify_shapes = true;
  // NCCL: the cudaStream_t collectives are enqueued on (nullptr = the default
  // stream). A CUDA LibTorch build passes
  // at::cuda::getCurrentCUDAStream(device.index()).stream().
  void* cuda_stream = nullptr;
};

absl::StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(const CommOptions& options);

// rendezvous_timeout, or timeout when unset.
inline absl::Duration RendezvousTimeout(const CommOptions& options) {
  return options.rendezvous_timeout > absl::ZeroDuration() ? options.rendezvous_timeout : options.timeout;
}

// "gloo" / "nccl" / "auto"; INVALID_ARGUMENT for anything else.
absl::StatusOr<Backend> ParseBackend(const std::string& name);
// True when this build has the NCCL backend (-DNMOE_GPU=ON).
bool HaveNccl();

}  // namespace nmoe::comm
