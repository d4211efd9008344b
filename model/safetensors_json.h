// Strict JSON parsing for safetensors headers and checkpoint index files (internal to
// nmoe::safetensors).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace nmoe::safetensors::internal {

// Nesting deeper than this is rejected (a valid header nests 3 deep, an index 3).
inline constexpr int kMaxJsonDepth = 16;

// Parses `text` as one JSON value (surrounding whitespace allowed). Beyond standard
// JSON it rejects duplicate keys in any object (which JSON parsers resolve silently, so
// a file could show one reader one tensor and another reader another) and nesting over
// kMaxJsonDepth. Invalid UTF-8 in strings is rejected. Errors: INVALID_ARGUMENT
// "<label>: <what>" with the parser's line and column.
absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, const std::string& label);

// A JSON value as short text for error messages (strings quoted, long text cut).
std::string Brief(const nlohmann::json& value);

}  // namespace nmoe::safetensors::internal
