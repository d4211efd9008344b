// Collectives over tensors for the ranks of one gang.
//
// Contract (every backend):
// - Every rank calls the same collectives in the same order with tensors of the
//   same dtype and shape (AllGather/AllToAll: as documented per call). A rank
//   that does not take part makes the others fail within the communicator's
//   timeout (DEADLINE_EXCEEDED or UNAVAILABLE naming the peer when known); a
//   dead peer's closed connection fails them sooner. Nothing waits forever.
// - Tensors must be contiguous and on the communicator's device; supported
//   dtypes are float32, float64, bfloat16, int32 and int64. Bad arguments give
//   INVALID_ARGUMENT before any communication.
// - Calls are synchronous: on return the result is in the output tensor.
//   Calls on one communicator are serialized; use one communicator per thread
//   for concurrent collectives.
// - After a communication error the communicator is broken: later calls return
//   FAILED_PRECONDITION with the first error; make a new one (new rendezvous
//   prefix or attempt) to continue.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nmoe::comm {

enum class ReduceOp { kSum, kMean, kMax };

const char* ReduceOpName(ReduceOp op);

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend_name() const = 0;

  // In place on `tensor`. kMean divides the sum by world_size (floating dtypes
  // only). bfloat16 reduces in float32 and rounds once at the end.
  virtual absl::Status AllReduce(const torch::Tensor& tensor, ReduceOp op) = 0;
  // output_WX: [world_size, *input.shape], same dtype; row r = rank r's input.
  virtual absl::Status AllGather(const torch::Tensor& input, const torch::Tensor& output_WX) = 0;
  // In place: every rank's `tensor` ends up equal to rank `root`'s.
  virtual absl::Status Broadcast(const torch::Tensor& tensor, int root) = 0;
  // input and output: same shape, dim 0 divisible by world_size. Chunk j of
  // rank i's input (rows j*n/W .. (j+1)*n/W) lands as chunk i of rank j's output.
  virtual absl::Status AllToAll(const torch::Tensor& input, const torch::Tensor& output) = 0;
  virtual absl::Status Barrier() = 0;

  // AllGather into fresh tensors, one per rank.
  absl::StatusOr<std::vector<torch::Tensor>> AllGather(const torch::Tensor& input);
};

}  // namespace nmoe::comm
