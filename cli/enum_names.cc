#include "cli/enum_names.h"

#include <fmt/format.h>

#include <cctype>

#include "absl/strings/match.h"

namespace nmoe::cli {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;

// "JobState" -> "JOB_STATE_".
std::string ValuePrefix(const EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) prefix += '_';
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return prefix + "_";
}

// "JobState" -> "job state", for messages.
std::string HumanTypeName(const EnumDescriptor* type) {
  std::string name;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !name.empty()) name += ' ';
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

bool KeepsUnderscores(const EnumDescriptor* type) { return type->name() == "Component"; }

// Lower case, '-' as '_': the form names are compared in.
std::string Normalize(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '-') c = '_';
  }
  return out;
}

std::string ShortName(const EnumValueDescriptor* value) {
  const std::string prefix = ValuePrefix(value->type());
  std::string name = value->name();
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '_' && !KeepsUnderscores(value->type())) c = '-';
  }
  return name;
}

}  // namespace

std::string ShortEnumName(const EnumDescriptor* type, int value) {
  const EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr) return std::to_string(value);
  return ShortName(v);
}

absl::StatusOr<int> ParseShortEnumName(const EnumDescriptor* type, std::string_view name) {
  const std::string wanted = Normalize(name);
  for (int i = 0; i < type->value_count(); ++i) {
    const EnumValueDescriptor* v = type->value(i);
    if (v->number() == 0) continue;
    if (Normalize(ShortName(v)) == wanted || Normalize(v->name()) == wanted) return v->number();
  }
  return absl::InvalidArgumentError(fmt::format("unknown {} \"{}\"; expected one of: {}",
                                                HumanTypeName(type), std::string(name),
                                                ShortEnumNameList(type)));
}

std::string ShortEnumNameList(const EnumDescriptor* type) {
  std::string list;
  for (int i = 0; i < type->value_count(); ++i) {
    const EnumValueDescriptor* v = type->value(i);
    if (v->number() == 0) continue;
    if (!list.empty()) list += ", ";
    list += ShortName(v);
  }
  return list;
}

}  // namespace nmoe::cli
