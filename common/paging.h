// Page sizes of list calls: 0 asks for the default; larger requests are capped.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace nmoe {

inline size_t ClampPageSize(uint32_t requested, size_t fallback, size_t max) {
  return requested == 0 ? fallback : std::min<size_t>(requested, max);
}

}  // namespace nmoe
