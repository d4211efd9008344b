#include "cli/job_file.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "cli/yaml_to_json.h"

namespace nmoe::cli {
namespace {

using nmoe::v1::JobSpec;

// "line 7, column 5: rest" -> "<source>:7:5: rest"; other messages get "<source>: ".
std::string WithSource(const std::string& source, const std::string& message) {
  static const std::regex kLineColumn(R"(^line (\d+), column (\d+): )");
  std::smatch m;
  if (std::regex_search(message, m, kLineColumn)) {
    return fmt::format("{}:{}:{}: {}", source, m[1].str(), m[2].str(), m.suffix().str());
  }
  return fmt::format("{}: {}", source, message);
}

absl::StatusOr<JobSpec> FromProtoJson(const std::string& json, const std::string& source) {
  JobSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &spec, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: invalid job spec: {}", source, std::string(status.message())));
  }
  return spec;
}

absl::StatusOr<JobSpec> ParseYaml(std::string_view text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(fmt::format("{}: invalid YAML: {}", source, e.msg));
    }
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: invalid YAML: {}", source,
                                                  e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (root.IsNull()) return absl::InvalidArgumentError(source + ": the file holds no job spec");
  absl::StatusOr<nlohmann::json> json = YamlToProtoJson(root, JobSpec::descriptor());
  if (!json.ok()) {
    return absl::InvalidArgumentError(WithSource(source, std::string(json.status().message())));
  }
  // yaml-cpp passes any bytes through; nlohmann's dump throws on invalid UTF-8.
  std::string json_text;
  try {
    json_text = json->dump();
  } catch (const nlohmann::json::type_error&) {
    return absl::InvalidArgumentError(fmt::format("{}: invalid job spec: text is not valid UTF-8", source));
  }
  return FromProtoJson(json_text, source);
}

absl::StatusOr<JobSpec> ParseJson(std::string_view text, const std::string& source) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string what = e.what();
    if (size_t end = what.find("] "); what.starts_with("[") && end != std::string::npos) {
      what = what.substr(end + 2);
    }
    return absl::InvalidArgumentError(fmt::format("{}: invalid JSON: {}", source, what));
  }
  if (!json.is_object()) {
    return absl::InvalidArgumentError(source + ": a job spec must be a JSON object");
  }
  return FromProtoJson(json.dump(), source);
}

}  // namespace

JobFileFormat DetectJobFileFormat(const std::string& path, std::string_view text) {
  if (absl::EndsWithIgnoreCase(path, ".json")) return JobFileFormat::kJson;
  if (absl::EndsWithIgnoreCase(path, ".yaml") || absl::EndsWithIgnoreCase(path, ".yml")) {
    return JobFileFormat::kYaml;
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' ? JobFileFormat::kJson
                                                               : JobFileFormat::kYaml;
}

absl::StatusOr<JobSpec> ParseJobSpec(std::string_view text, JobFileFormat format,
                                     const std::string& source) {
  return format == JobFileFormat::kJson ? ParseJson(text, source) : ParseYaml(text, source);
}

absl::StatusOr<JobSpec> ReadJobFile(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          fmt::format("{}: cannot open job file: {}", path, std::strerror(errno)));
    }
    buffer << in.rdbuf();
    if (in.bad()) return absl::NotFoundError(fmt::format("{}: cannot read job file", path));
  }
  const std::string text = buffer.str();
  const std::string source = path == "-" ? "<stdin>" : path;
  return ParseJobSpec(text, DetectJobFileFormat(path, text), source);
}

absl::Status ApplySpecOverrides(const SpecOverrides& overrides, JobSpec* spec) {
  if (overrides.name.has_value()) spec->set_name(*overrides.name);
  if (overrides.workers.has_value()) spec->mutable_resources()->set_num_workers(*overrides.workers);
  for (const std::string& label : overrides.labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          fmt::format("--label \"{}\": expected key=value with a non-empty key", label));
    }
    (*spec->mutable_labels())[label.substr(0, eq)] = label.substr(eq + 1);
  }
  return absl::OkStatus();
}

}  // namespace nmoe::cli
