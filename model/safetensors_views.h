// Validation of tensors before writing (internal; shared by WriteFile and WriteSharded).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/safetensors.h"

namespace nmoe::safetensors::internal {

// Checks names (non-empty, unique, not "__metadata__", UTF-8), shapes (no negative
// dims, no overflow), data sizes (== elements x dtype size) and metadata (UTF-8).
// Returns each tensor's byte size. Errors: INVALID_ARGUMENT "cannot write <path>: ...".
absl::StatusOr<std::vector<uint64_t>> CheckViews(const std::string& path,
                                                 std::span<const TensorView> tensors,
                                                 const std::map<std::string, std::string>& metadata);

}  // namespace nmoe::safetensors::internal
