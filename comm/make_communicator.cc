#include "comm/make_communicator.h"

#include "absl/strings/str_cat.h"
#include "comm/gloo_communicator.h"
#ifdef NMOE_WITH_CUDA
#include "comm/nccl_communicator.h"
#endif

namespace nmoe::comm {

bool HaveNccl() {
#ifdef NMOE_WITH_CUDA
  return true;
#else
  return false;
#endif
}

absl::StatusOr<Backend> ParseBackend(const std::string& name) {
  if (name == "auto") return Backend::kAuto;
  if (name == "gloo") return Backend::kGloo;
  if (name == "nccl") return Backend::kNccl;
  return absl::InvalidArgumentError(absl::StrCat("backend '", name, "': expected gloo, nccl or auto"));
}

absl::StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(const CommOptions& options) {
  if (options.world_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("world_size ", options.world_size, ": must be at least 1"));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options.rank, " is not in [0, ", options.world_size, ")"));
  }
  if (options.store == nullptr) return absl::InvalidArgumentError("store: a rendezvous store is required");
  if (options.prefix.empty()) return absl::InvalidArgumentError("prefix: must not be empty");
  if (options.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout: must be positive");
  if (options.rendezvous_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("rendezvous_timeout: must not be negative");
  }
  Backend backend = options.backend;
  if (backend == Backend::kAuto) backend = (options.device.is_cuda() && HaveNccl()) ? Backend::kNccl : Backend::kGloo;
  if (backend == Backend::kGloo) {
    if (!options.device.is_cpu()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the gloo backend works on CPU tensors; device is ", options.device.str()));
    }
    return MakeGlooCommunicator(options);
  }
#ifdef NMOE_WITH_CUDA
  return MakeNcclCommunicator(options);
#else
  return absl::UnimplementedError("the nccl backend is not in this build (configure with -DNMOE_GPU=ON)");
#endif
}

}  // namespace nmoe::comm
