// The bridge between safetensors (model/safetensors.h, torch-free) and at::Tensor.
//
// Loading: LoadTensor / ToTensor return an owning copy by default. With
// LoadOptions::zero_copy they return a view over the file's mapping when the dtype needs
// no conversion and the data is aligned to its element size (files nmoe or Hugging Face
// write always are); the tensor then keeps the File alive. Zero-copy tensors of the same
// file region alias each other (writes in place go to private copy-on-write pages, never
// to the file, but are seen by every view of that region): use copies for tensors that
// are trained in place or duplicated (e.g. MoE upcycling copies of one MLP).
//
// Saving: ToView borrows a CPU contiguous tensor's bytes; SaveFile / SaveSharded take
// any tensors (moved to CPU and made contiguous internally) and write them.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/checkpoint_index.h"
#include "model/safetensors.h"

namespace nmoe::model {

// The torch dtype of a file dtype. UNIMPLEMENTED for dtypes LibTorch 1.13 lacks
// (U16, U32, U64, F8_E5M2, F8_E4M3).
absl::StatusOr<c10::ScalarType> ToScalarType(safetensors::DType dtype);
// The file dtype of a torch dtype; UNIMPLEMENTED for others (complex, quantized...).
absl::StatusOr<safetensors::DType> FromScalarType(c10::ScalarType type);

struct LoadOptions {
  // Convert to this dtype (e.g. BF16 file -> kFloat); nullopt keeps the file's dtype.
  std::optional<c10::ScalarType> dtype;
  // Return a view over the mapping when possible (see the file comment).
  bool zero_copy = false;
};

// The tensor `info` of `file` (info must be one of file->tensors()). BOOL tensors are
// checked to hold only 0 and 1. Errors name the file and the tensor.
absl::StatusOr<at::Tensor> ToTensor(const std::shared_ptr<const safetensors::File>& file,
                                    const safetensors::TensorInfo& info,
                                    const LoadOptions& options = {});

// Tensor `name` of `checkpoint`. NOT_FOUND names the checkpoint when absent. When
// `expected_shape` is given, a different shape is INVALID_ARGUMENT:
//   "<file>: tensor 'model.norm.weight' has shape [8], expected [16]".
absl::StatusOr<at::Tensor> LoadTensor(const safetensors::Checkpoint& checkpoint,
                                      std::string_view name,
                                      std::optional<std::span<const int64_t>> expected_shape,
                                      const LoadOptions& options = {});

// OK when `actual` equals `expected`; otherwise the error above (`where` = file path).
absl::Status CheckShape(std::string_view where, std::string_view name,
                        std::span<const int64_t> actual, std::span<const int64_t> expected);

// Every tensor of the checkpoint, by name.
absl::StatusOr<std::map<std::string, at::Tensor>> LoadAll(
    const safetensors::Checkpoint& checkpoint, const LoadOptions& options = {});

// Borrows `tensor`'s bytes for writing: it must be a defined, CPU, contiguous tensor of a
// supported dtype, and must outlive the view.
absl::StatusOr<safetensors::TensorView> ToView(std::string name, const at::Tensor& tensor);

// Named tensors to write; any device, layout or strides.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// safetensors::WriteFile / WriteSharded over torch tensors.
absl::Status SaveFile(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
absl::Status SaveSharded(const std::string& dir, const NamedTensors& tensors,
                         uint64_t max_shard_bytes,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace nmoe::model
