#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "comm/tensor_checks.h"

namespace nmoe::comm {
namespace {

constexpr char kUniqueIdKey[] = "nccl_unique_id";

absl::Status CudaError(cudaError_t e, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": CUDA error ", cudaGetErrorName(e), ": ", cudaGetErrorString(e)));
}

ncclDataType_t NcclType(c10::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    default: return ncclUint8;  // unreachable: CheckTensor allows only the above
  }
}

ncclRedOp_t NcclOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMean: return ncclAvg;
    case ReduceOp::kMax: return ncclMax;
  }
  return ncclSum;
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, float* scratch, const CommOptions& options)
      : comm_(comm),
        scratch_(scratch),
        stream_(static_cast<cudaStream_t>(options.cuda_stream)),
        device_(options.device),
        rank_(options.rank),
        world_(options.world_size),
        timeout_(options.timeout) {}

  ~NcclCommunicator() override {
    if (comm_ != nullptr) {
      // A broken communicator may hold stuck kernels: abort instead of destroying.
      if (broken_.ok()) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    if (scratch_ != nullptr) cudaFree(scratch_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string backend_name() const override { return "nccl"; }

  absl::Status AllReduce(const torch::Tensor& tensor, ReduceOp op) override {
    if (auto s = CheckTensor("all_reduce", "tensor", tensor, device_); !s.ok()) return s;
    if (auto s = CheckReduceOp(tensor, op); !s.ok()) return s;
    return Run("all_reduce", [&] {
      return ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), NcclType(tensor.scalar_type()),
                           NcclOp(op), comm_, stream_);
    });
  }

  absl::Status AllGather(const torch::Tensor& input, const torch::Tensor& output_WX) override {
    if (auto s = CheckAllGather(input, output_WX, world_, device_); !s.ok()) return s;
    return Run("all_gather", [&] {
      return ncclAllGather(input.data_ptr(), output_WX.data_ptr(), input.numel(), NcclType(input.scalar_type()),
                           comm_, stream_);
    });
  }

  absl::Status Broadcast(const torch::Tensor& tensor, int root) override {
    if (auto s = CheckTensor("broadcast", "tensor", tensor, device_); !s.ok()) return s;
    if (auto s = CheckRoot(root, world_); !s.ok()) return s;
    return Run("broadcast", [&] {
      return ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), NcclType(tensor.scalar_type()), root,
                           comm_, stream_);
    });
  }

  absl::Status AllToAll(const torch::Tensor& input, const torch::Tensor& output) override {
    if (auto s = CheckAllToAll(input, output, world_, device_); !s.ok()) return s;
    const size_t chunk = input.nbytes() / static_cast<size_t>(world_);
    return Run("all_to_all", [&]() -> ncclResult_t {
      auto* in = static_cast<char*>(input.data_ptr());
      auto* out = static_cast<char*>(output.data_ptr());
      ncclResult_t r = ncclGroupStart();
      if (r != ncclSuccess) return r;
      for (int peer = 0; peer < world_; ++peer) {
        r = ncclSend(in + peer * chunk, chunk, ncclUint8, peer, comm_, stream_);
        if (r != ncclSuccess && r != ncclInProgress) break;
        r = ncclRecv(out + peer * chunk, chunk, ncclUint8, peer, comm_, stream_);
        if (r != ncclSuccess && r != ncclInProgress) break;
      }
      ncclResult_t end = ncclGroupEnd();
      return (r != ncclSuccess && r != ncclInProgress) ? r : end;
    });
  }

  absl::Status Barrier() override {
    return Run("barrier",
               [&] { return ncclAllReduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, comm_, stream_); });
  }

 private:
  std::string Where(const char* op) const {
    return absl::StrCat("nccl ", op, " on rank ", rank_, " of ", world_, " (", device_.str(), ")");
  }

  // Enqueues, then polls the stream and NCCL's async error until done or the
  // timeout; aborts the NCCL communicator on error or timeout.
  template <typename Enqueue>
  absl::Status Run(const char* op, Enqueue enqueue) {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("communicator (rank ", rank_, " of ", world_,
                                                        ") is broken by an earlier error: ", broken_.message()));
    }
    if (cudaError_t e = cudaSetDevice(device_.index()); e != cudaSuccess) return CudaError(e, Where(op));
    ncclResult_t r = enqueue();
    if (r != ncclSuccess && r != ncclInProgress) return Break(Where(op), r);
    const absl::Time deadline = absl::Now() + timeout_;
    while (true) {
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess && async != ncclInProgress) return Break(Where(op), async);
      if (async == ncclSuccess) {
        cudaError_t e = cudaStreamQuery(stream_);
        if (e == cudaSuccess) return absl::OkStatus();
        if (e != cudaErrorNotReady) {
          broken_ = CudaError(e, Where(op));
          return broken_;
        }
      }
      if (absl::Now() > deadline) {
        broken_ = absl::DeadlineExceededError(absl::StrCat(Where(op), ": not complete within ",
                                                           absl::FormatDuration(timeout_),
                                                           " (a peer is missing or dead); NCCL communicator aborted"));
        return broken_;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  absl::Status Break(const std::string& where, ncclResult_t r) {
    broken_ = absl::UnavailableError(
        absl::StrCat(where, ": NCCL error ", ncclGetErrorString(r), ": ", ncclGetLastError(comm_)));
    return broken_;
  }

  ncclComm_t comm_;
  float* scratch_;
  cudaStream_t stream_;
  const torch::Device device_;
  const int rank_;
  const int world_;
  const absl::Duration timeout_;
  std::mutex mu_;
  absl::Status broken_;
};

}  // namespace

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

absl::StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(const CommOptions& options) {
  const std::string where = absl::StrCat("nccl rendezvous of rank ", options.rank, " of ", options.world_size,
                                         " under '", options.prefix, "'");
  if (!options.device.is_cuda() || options.device.index() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the nccl backend needs a CUDA device with an index, got ", options.device.str()));
  }
  const int devices = CudaDeviceCount();
  if (devices == 0) return absl::UnavailableError(absl::StrCat(where, ": no CUDA device on this machine"));
  if (options.device.index() >= devices) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": device ", options.device.str(), " but only ", devices, " CUDA devices"));
  }
  if (cudaError_t e = cudaSetDevice(options.device.index()); e != cudaSuccess) return CudaError(e, where);

  ncclUniqueId id;
  const std::string key = options.prefix + "/" + kUniqueIdKey;
  if (options.rank == 0) {
    if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
      return absl::InternalError(absl::StrCat(where, ": ncclGetUniqueId: ", ncclGetErrorString(r)));
    }
    if (auto s = options.store->Set(key, std::string(id.internal, sizeof(id.internal))); !s.ok()) return s;
  } else {
    auto value = options.store->Get(key, RendezvousTimeout(options));
    if (!value.ok()) return value.status();
    if (value->size() != sizeof(id.internal)) {
      return absl::InternalError(absl::StrCat(where, ": the unique id in the store has ", value->size(),
                                              " bytes, expected ", sizeof(id.internal)));
    }
    std::memcpy(id.internal, value->data(), sizeof(id.internal));
  }

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  ncclResult_t r = ncclCommInitRankConfig(&comm, options.world_size, id, options.rank, &config);
  const absl::Time deadline = absl::Now() + RendezvousTimeout(options);
  while (r == ncclInProgress) {
    if (absl::Now() > deadline) {
      ncclCommAbort(comm);
      return absl::DeadlineExceededError(absl::StrCat(where, ": ncclCommInitRank not complete within ",
                                                      absl::FormatDuration(RendezvousTimeout(options))));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ncclCommGetAsyncError(comm, &r);
  }
  if (r != ncclSuccess) {
    const std::string detail = comm != nullptr ? ncclGetLastError(comm) : "";
    if (comm != nullptr) ncclCommAbort(comm);
    return absl::UnavailableError(absl::StrCat(where, ": ncclCommInitRank: ", ncclGetErrorString(r), " ", detail));
  }
  float* scratch = nullptr;
  if (cudaError_t e = cudaMalloc(&scratch, sizeof(float)); e != cudaSuccess) {
    ncclCommAbort(comm);
    return CudaError(e, where);
  }
  return std::unique_ptr<Communicator>(new NcclCommunicator(comm, scratch, options));
}

}  // namespace nmoe::comm
