// Atomic file replacement for safetensors and index files (internal).
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

#include "absl/status/status.h"

namespace nmoe::safetensors::internal {

// Writes every byte of `data` to `fd` (retries short writes and EINTR).
absl::Status WriteAll(int fd, std::span<const std::byte> data, const std::string& path);

// Creates a temp file next to `path`, lets `fill` write it, then fsyncs it, renames it
// over `path` and fsyncs the folder. On any failure the temp file is removed and `path`
// is untouched.
absl::Status ReplaceFileAtomically(const std::string& path,
                                   const std::function<absl::Status(int fd)>& fill);

}  // namespace nmoe::safetensors::internal
