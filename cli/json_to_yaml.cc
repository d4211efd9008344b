#include "cli/json_to_yaml.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"

namespace nmoe::cli {
namespace {

// Control characters other than '\n' (a carriage return, a tab, an escape)
// survive a YAML reader only escaped inside double quotes.
bool HasControlCharacter(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
  }
  return false;
}

bool NeedsQuotes(const std::string& s) {
  if (s.empty() || HasControlCharacter(s)) return true;
  const char first = s.front();
  if (absl::ascii_isdigit(static_cast<unsigned char>(first)) || first == '+' || first == '-' ||
      first == '.') {
    return true;
  }
  static constexpr const char* kSpecial[] = {"true", "false", "yes", "no",   "on",
                                             "off",  "y",     "n",   "null", "~"};
  const std::string lower = absl::AsciiStrToLower(s);
  for (const char* word : kSpecial) {
    if (lower == word) return true;
  }
  return false;
}

void Emit(const nlohmann::ordered_json& value, YAML::Emitter* out) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      if (value.empty()) {
        *out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      *out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        *out << YAML::Key << key << YAML::Value;
        Emit(item, out);
      }
      *out << YAML::EndMap;
      return;
    case nlohmann::json::value_t::array:
      if (value.empty()) {
        *out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      *out << YAML::BeginSeq;
      for (const auto& item : value) Emit(item, out);
      *out << YAML::EndSeq;
      return;
    case nlohmann::json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      const size_t newline = s.find('\n');
      if (newline != std::string::npos && newline + 1 < s.size() && s.back() == '\n' &&
          !s.ends_with("\n\n") && s.front() != ' ' && !HasControlCharacter(s)) {
        *out << YAML::Literal << s;  // "|" keeps exactly one final newline
      } else if (NeedsQuotes(s)) {
        *out << YAML::DoubleQuoted << s;
      } else {
        *out << s;
      }
      return;
    }
    case nlohmann::json::value_t::boolean: *out << (value.get<bool>() ? "true" : "false"); return;
    case nlohmann::json::value_t::null: *out << YAML::Null; return;
    default:  // numbers: their JSON text is valid YAML.
      *out << value.dump();
      return;
  }
}

}  // namespace

std::string JsonToYaml(const nlohmann::ordered_json& value) {
  YAML::Emitter out;
  Emit(value, &out);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

}  // namespace nmoe::cli
