// Identifiers: "<prefix>-" + 10 base32 characters of milliseconds since the
// epoch + 10 base32 characters of a random start that counts up within a
// millisecond. Within one process, lexicographic order = creation order, so
// stores list newest first by scanning backwards.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace nmoe {

std::string NewId(std::string_view prefix, absl::Time now);

// True when `id` has the shape NewId produces for `prefix`.
bool IsWellFormedId(std::string_view prefix, std::string_view id);

}  // namespace nmoe
