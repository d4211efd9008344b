// Process logging setup (spdlog). Libraries log through spdlog's default logger.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace nmoe {

// level: trace, debug, info, warn, error. INVALID_ARGUMENT on another name.
absl::Status InitLogging(const std::string& level);

}  // namespace nmoe
