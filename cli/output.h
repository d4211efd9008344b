// Output formats of nmoectl: aligned tables for people; JSON and YAML (the
// protobuf JSON mapping, proto field names) and CSV for programs.
#pragma once

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::cli {

enum class OutputFormat { kTable, kJson, kYaml, kCsv };

// "table", "json", "yaml" or "csv" (case-insensitive); INVALID_ARGUMENT else.
absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);
const char* OutputFormatName(OutputFormat format);

struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;  // each as long as `headers`
};

// Left-aligned columns, each padded to its widest cell (counted in UTF-8
// code points) and separated by three spaces; no trailing spaces; every
// line, the header line included, ends with '\n'. Missing cells are empty.
std::string RenderTable(const Table& table);

// RFC 4180 CSV: the header line is the lower-cased headers; a cell holding
// ',', '"', CR or LF is quoted with '"' doubled; lines end with '\n'.
std::string RenderCsv(const Table& table);

// "Key:" / value lines with values aligned one column after the longest key:
//   "ID:      job-1\nState:   running\n".
std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs);

// `message` in the protobuf JSON mapping (proto field names, default values
// omitted), as a JSON value that keeps field order.
absl::StatusOr<nlohmann::ordered_json> MessageToJsonValue(const google::protobuf::Message& message);

// Pretty JSON, two-space indent, ending with '\n'.
std::string RenderJson(const nlohmann::ordered_json& value);
// Compact JSON on one line ending with '\n' (one record per line: watch).
std::string RenderJsonLine(const nlohmann::ordered_json& value);

// A message as JSON or YAML. INVALID_ARGUMENT for kTable and kCsv.
absl::StatusOr<std::string> RenderMessage(const google::protobuf::Message& message,
                                          OutputFormat format);
// A JSON value as JSON or YAML. INVALID_ARGUMENT for kTable and kCsv.
absl::StatusOr<std::string> RenderValue(const nlohmann::ordered_json& value, OutputFormat format);

}  // namespace nmoe::cli
