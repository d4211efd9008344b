// Argument checks shared by the backends: every message names the argument,
// the collective and the offending property.
#pragma once

#include <string>

#include <torch/types.h>

#include "absl/status/status.h"
#include "comm/communicator.h"

namespace nmoe::comm {

// Defined, contiguous, a supported dtype, on `device` (CPU: any CPU tensor;
// CUDA: that index).
absl::Status CheckTensor(const char* op, const char* name, const torch::Tensor& t, const torch::Device& device);
// Same dtype and, when `same_shape`, same shape as `reference`.
absl::Status CheckLike(const char* op, const char* name, const torch::Tensor& t, const char* ref_name,
                       const torch::Tensor& reference, bool same_shape);
absl::Status CheckReduceOp(const torch::Tensor& t, ReduceOp op);
absl::Status CheckAllGather(const torch::Tensor& input, const torch::Tensor& output_WX, int world_size,
                            const torch::Device& device);
absl::Status CheckAllToAll(const torch::Tensor& input, const torch::Tensor& output, int world_size,
                           const torch::Device& device);
absl::Status CheckRoot(int root, int world_size);

// "[2, 3]" for messages.
std::string ShapeString(const torch::Tensor& t);

}  // namespace nmoe::comm
