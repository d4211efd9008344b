// The NCCL backend (built with -DNMOE_GPU=ON): CUDA tensors on one device per
// rank. Rank 0 creates the NCCL unique id and publishes it in the rendezvous
// store under "<prefix>/nccl_unique_id"; every rank then joins with
// ncclCommInitRankConfig in non-blocking mode, so that initialization and
// every collective are bounded by the communicator's timeout (on expiry the
// NCCL communicator is aborted and this one is broken).
//
// Streams: collectives are enqueued on CommOptions::cuda_stream (the default
// stream when null) and waited for before returning. A CUDA LibTorch build
// passes the tensors' current stream,
// at::cuda::getCurrentCUDAStream(device.index()).stream(), so that the
// collective is ordered after the kernels that produced the tensor.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "comm/make_communicator.h"

namespace nmoe::comm {

// UNAVAILABLE when this machine has no CUDA device.
absl::StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(const CommOptions& options);

// The number of visible CUDA devices (0 when CUDA reports none or fails).
int CudaDeviceCount();

}  // namespace nmoe::comm
