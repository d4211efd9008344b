// A minimal HTTP/1.0 GET over loopback for scraping /metrics in tests.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace nmoe::testing {

// Body of http://127.0.0.1:<port><path>; error on connect failure or non-200.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace nmoe::testing
