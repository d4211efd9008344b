#include "model/safetensors_json.h"

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nmoe::safetensors::internal {
namespace {

// Thrown from the parser callback to abort parsing; caught in ParseStrictJson.
struct Reject {
  std::string message;
};

// nlohmann's messages start with "[json.exception.parse_error.101] ": drop that tag.
std::string Untag(const char* what) {
  std::string text = what;
  if (!text.empty() && text[0] == '[') {
    if (size_t end = text.find("] "); end != std::string::npos) text.erase(0, end + 2);
  }
  return text;
}

}  // namespace

std::string Brief(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 64) text = text.substr(0, 61) + "...";
  return text;
}

absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, const std::string& label) {
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows
  // it; raw NUL is never valid JSON (escaped \u0000 inside strings is fine).
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": invalid JSON: NUL byte at offset ", nul));
  }
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string>> keys;  // keys seen, per open object
  std::string top_key;                       // the latest key of the outermost object
  auto callback = [&](int depth, Event event, nlohmann::json& parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= kMaxJsonDepth) {
          throw Reject{absl::StrCat("JSON nested deeper than ", kMaxJsonDepth, " levels")};
        }
        if (event == Event::object_start) keys.emplace_back();
        break;
      case Event::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Event::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (depth == 1) top_key = key;
        if (!keys.empty() && !keys.back().insert(key).second) {
          if (depth == 1) throw Reject{absl::StrCat("duplicate key '", key, "'")};
          throw Reject{absl::StrCat("duplicate key '", key, "' inside '", top_key, "'")};
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                                 /*ignore_comments=*/false);
  } catch (const Reject& reject) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": ", reject.message));
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": invalid JSON: ", Untag(e.what())));
  } catch (const std::exception& e) {  // e.g. bad_alloc on a pathological header
    return absl::InvalidArgumentError(absl::StrCat(label, ": cannot parse JSON: ", e.what()));
  }
}

}  // namespace nmoe::safetensors::internal
