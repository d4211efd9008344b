// JSON values as YAML block text, for `-o yaml`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace nmoe::cli {

// `value` as a YAML document (block style, keys in the JSON order), ending
// with '\n'. Strings a YAML reader would take for another type (empty,
// "true", "no", "null", anything starting with a digit, sign or '.', such as
// numbers, uint64 values protobuf prints as strings, and timestamps) are
// double-quoted, so reading the YAML back gives the same JSON value.
// Multi-line text ending in one newline uses the literal block style ("|");
// other strings with newlines are double-quoted with escapes.
std::string JsonToYaml(const nlohmann::ordered_json& value);

}  // namespace nmoe::cli
