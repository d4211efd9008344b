#include "cli/yaml_to_json.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace nmoe::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::OneofDescriptor;
using Json = nlohmann::json;

absl::Status Error(const YAML::Node& node, const std::string& path, const std::string& problem) {
  const YAML::Mark mark = node.Mark();
  std::string where;
  if (!mark.is_null()) where = fmt::format("line {}, column {}: ", mark.line + 1, mark.column + 1);
  return absl::InvalidArgumentError(
      fmt::format("{}{}: {}", where, path.empty() ? "(top level)" : path, problem));
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "nothing";
  }
}

// Plain YAML typing, for google.protobuf.* messages.
Json Untyped(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = Untyped(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(Untyped(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted: a string
      int64_t i;
      double d;
      if (s == "true" || s == "false") return s == "true";
      if (absl::SimpleAtoi(s, &i)) return i;
      if (absl::SimpleAtod(s, &d) && std::isfinite(d)) return d;
      return s;
    }
    default: return nullptr;
  }
}

absl::StatusOr<Json> Message(const YAML::Node& node, const Descriptor* type,
                             const std::string& path);

const FieldDescriptor* FindFieldByJsonName(const Descriptor* type, const std::string& name) {
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

absl::StatusOr<Json> Scalar(const YAML::Node& node, const FieldDescriptor* field,
                            const std::string& path) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (absl::StartsWith(field->message_type()->full_name(), "google.protobuf.")) {
      return Untyped(node);
    }
    return Message(node, field->message_type(), path);
  }
  if (!node.IsScalar()) {
    return Error(node, path, fmt::format("expected a single value, got {}", KindName(node)));
  }
  const std::string& s = node.Scalar();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: return s;
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string lower = absl::AsciiStrToLower(s);
      if (lower == "true") return true;
      if (lower == "false") return false;
      return Error(node, path, fmt::format("expected true or false, got \"{}\"", s));
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (absl::SimpleAtoi(s, &v)) return v;
      return Error(node, path, fmt::format("expected an integer, got \"{}\"", s));
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (absl::SimpleAtoi(s, &v)) return v;
      return Error(node, path, fmt::format("expected a non-negative integer, got \"{}\"", s));
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const std::string lower = absl::AsciiStrToLower(s);
      if (lower == ".inf" || lower == "+.inf") return "Infinity";
      if (lower == "-.inf") return "-Infinity";
      if (lower == ".nan") return "NaN";
      double v;
      if (absl::SimpleAtod(s, &v) && std::isfinite(v)) return v;
      return Error(node, path, fmt::format("expected a number, got \"{}\"", s));
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int64_t v;
      if (absl::SimpleAtoi(s, &v)) return v;
      return s;
    }
    default: return Error(node, path, "unsupported field type");
  }
}

absl::StatusOr<Json> Field(const YAML::Node& node, const FieldDescriptor* field,
                           const std::string& path) {
  if (field->is_map()) {
    if (!node.IsMap())
      return Error(node, path, fmt::format("expected a mapping, got {}", KindName(node)));
    const FieldDescriptor* value_field = field->message_type()->map_value();
    Json out = Json::object();
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (out.contains(key)) return Error(kv.first, path, fmt::format("duplicate key \"{}\"", key));
      absl::StatusOr<Json> value = Scalar(kv.second, value_field, path + "." + key);
      if (!value.ok()) return value.status();
      out[key] = *std::move(value);
    }
    return out;
  }
  if (field->is_repeated()) {
    if (!node.IsSequence())
      return Error(node, path, fmt::format("expected a list, got {}", KindName(node)));
    Json out = Json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      absl::StatusOr<Json> item = Scalar(node[i], field, fmt::format("{}[{}]", path, i));
      if (!item.ok()) return item.status();
      out.push_back(*std::move(item));
    }
    return out;
  }
  return Scalar(node, field, path);
}

absl::StatusOr<Json> Message(const YAML::Node& node, const Descriptor* type,
                             const std::string& path) {
  if (!node.IsMap()) {
    return Error(
        node, path,
        fmt::format("expected a mapping for {}, got {}", type->full_name(), KindName(node)));
  }
  Json out = Json::object();
  std::map<const OneofDescriptor*, std::string> oneofs;  // oneof -> member set
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string child_path = path.empty() ? key : path + "." + key;
    const FieldDescriptor* field = type->FindFieldByName(key);
    if (field == nullptr) field = FindFieldByJsonName(type, key);
    if (field == nullptr) {
      return Error(kv.first, child_path, fmt::format("unknown field of {}", type->full_name()));
    }
    if (out.contains(field->name())) {
      return Error(kv.first, child_path, fmt::format("field \"{}\" given twice", field->name()));
    }
    if (kv.second.IsNull()) continue;  // `key:` with no value: unset
    if (const OneofDescriptor* oneof = field->real_containing_oneof()) {
      auto [it, inserted] = oneofs.emplace(oneof, field->name());
      if (!inserted) {
        return Error(kv.first, child_path,
                     fmt::format("\"{}\" and \"{}\" are both members of oneof \"{}\"; set one",
                                 it->second, field->name(), oneof->name()));
      }
    }
    absl::StatusOr<Json> value = Field(kv.second, field, child_path);
    if (!value.ok()) return value.status();
    out[field->name()] = *std::move(value);
  }
  return out;
}

}  // namespace

absl::StatusOr<nlohmann::json> YamlToProtoJson(const YAML::Node& node, const Descriptor* type) {
  return Message(node, type, "");
}

}  // namespace nmoe::cli
