// Data parallelism for the training loop: the ranks of a gang each run a slice of the
// global batch, then sum their token counts and gradients through a Communicator
// (comm/communicator.h), so every rank applies the same update -- the one a single
// rank would apply to the whole global batch (up to fp32 summation order).
//
// Gradients are summed in buckets: the gradients of consecutive parameters are
// flattened into one fp32 buffer, all-reduced, and copied back; a bucket closes at
// the first parameter that brings it to `bucket_bytes` or more (so it may exceed
// `bucket_bytes` by that parameter). A parameter without a gradient on this rank (an
// expert no local token was routed to) contributes zeros, so every rank reduces the
// same buffers.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "comm/communicator.h"

namespace nmoe::trainer {

class DataParallel {
 public:
  // `comm` must outlive this object.
  explicit DataParallel(comm::Communicator* comm, int64_t bucket_bytes = 16 << 20)
      : comm_(comm), bucket_bytes_(bucket_bytes) {}

  int rank() const { return comm_->rank(); }
  int world_size() const { return comm_->world_size(); }

  // Sums `values` over the ranks, in place (fp64, exact for counts below 2^53).
  absl::Status SumValues(std::vector<double>& values);
  // The element-wise maximum of `values` over the ranks, in place (fp64).
  absl::Status MaxValues(std::vector<double>& values);
  // Sums the gradients of `parameters` over the ranks, in place; an undefined
  // gradient becomes zeros first.
  absl::Status SumGradients(const std::vector<at::Tensor>& parameters);

 private:
  absl::Status ReduceBucket(const std::vector<at::Tensor>& grads);
  absl::Status ReduceValues(std::vector<double>& values, comm::ReduceOp op, const char* what);

  comm::Communicator* comm_;
  int64_t bucket_bytes_;
};

}  // namespace nmoe::trainer
