#include "cli/output.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "cli/json_to_yaml.h"

namespace nmoe::cli {
namespace {

// Display width of UTF-8 text: code points (continuation bytes not counted).
size_t DisplayWidth(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

const std::string& Cell(const std::vector<std::string>& row, size_t i) {
  static const std::string kEmpty;
  return i < row.size() ? row[i] : kEmpty;
}

void AppendRow(const std::vector<std::string>& row, const std::vector<size_t>& widths,
               std::string* out) {
  std::string line;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string& cell = Cell(row, i);
    line += cell;
    if (i + 1 < widths.size()) line.append(widths[i] - DisplayWidth(cell) + 3, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  *out += line;
  *out += '\n';
}

std::string CsvCell(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

void AppendCsvRow(const std::vector<std::string>& row, size_t columns, std::string* out) {
  for (size_t i = 0; i < columns; ++i) {
    if (i > 0) *out += ',';
    *out += CsvCell(Cell(row, i));
  }
  *out += '\n';
}

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  if (lower == "table") return OutputFormat::kTable;
  if (lower == "json") return OutputFormat::kJson;
  if (lower == "yaml") return OutputFormat::kYaml;
  if (lower == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(
      fmt::format("unknown output format \"{}\"; expected one of: table, json, yaml, csv", lower));
}

const char* OutputFormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable: return "table";
    case OutputFormat::kJson: return "json";
    case OutputFormat::kYaml: return "yaml";
    case OutputFormat::kCsv: return "csv";
  }
  return "table";
}

std::string RenderTable(const Table& table) {
  std::vector<size_t> widths(table.headers.size(), 0);
  for (size_t i = 0; i < widths.size(); ++i) {
    widths[i] = DisplayWidth(table.headers[i]);
    for (const auto& row : table.rows) widths[i] = std::max(widths[i], DisplayWidth(Cell(row, i)));
  }
  std::string out;
  AppendRow(table.headers, widths, &out);
  for (const auto& row : table.rows) AppendRow(row, widths, &out);
  return out;
}

std::string RenderCsv(const Table& table) {
  std::vector<std::string> header;
  for (const std::string& h : table.headers) header.push_back(absl::AsciiStrToLower(h));
  std::string out;
  AppendCsvRow(header, header.size(), &out);
  for (const auto& row : table.rows) AppendCsvRow(row, header.size(), &out);
  return out;
}

std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs) {
  size_t width = 0;
  for (const auto& [key, value] : pairs) width = std::max(width, DisplayWidth(key) + 1);
  std::string out;
  for (const auto& [key, value] : pairs) {
    std::string line = key + ":";
    if (!value.empty()) line.append(width - DisplayWidth(key), ' ').append(value);
    out += line + "\n";
  }
  return out;
}

absl::StatusOr<nlohmann::ordered_json> MessageToJsonValue(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        fmt::format("cannot print {} as JSON: {}", message.GetTypeName(), status.ToString()));
  }
  return nlohmann::ordered_json::parse(json);
}

std::string RenderJson(const nlohmann::ordered_json& value) { return value.dump(2) + "\n"; }

std::string RenderJsonLine(const nlohmann::ordered_json& value) { return value.dump() + "\n"; }

absl::StatusOr<std::string> RenderValue(const nlohmann::ordered_json& value, OutputFormat format) {
  switch (format) {
    case OutputFormat::kJson: return RenderJson(value);
    case OutputFormat::kYaml: return JsonToYaml(value);
    default:
      return absl::InvalidArgumentError(
          fmt::format("output format {} cannot print a record", OutputFormatName(format)));
  }
}

absl::StatusOr<std::string> RenderMessage(const google::protobuf::Message& message,
                                          OutputFormat format) {
  absl::StatusOr<nlohmann::ordered_json> value = MessageToJsonValue(message);
  if (!value.ok()) return value.status();
  return RenderValue(*value, format);
}

}  // namespace nmoe::cli
