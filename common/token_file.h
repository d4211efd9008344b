// Bearer tokens in files: one token a line; blank lines and lines starting
// with '#' are ignored; surrounding whitespace is trimmed.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe {

// Reads every token of the file. NOT_FOUND when the file cannot be opened,
// INVALID_ARGUMENT when it holds no token or a token with inner whitespace.
absl::StatusOr<std::vector<std::string>> ReadTokenFile(const std::string& path);

}  // namespace nmoe
