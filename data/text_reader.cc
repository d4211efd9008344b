#include "data/text_reader.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace nmoe::data {

std::optional<size_t> FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::nullopt;
}

TextFormat FormatFromPath(const std::string& path) {
  for (const char* ext : {".jsonl", ".json", ".ndjson"}) {
    if (absl::EndsWith(path, ext)) return TextFormat::kJsonl;
  }
  return TextFormat::kPlain;
}

DocumentReader::DocumentReader(std::string path, TextFormat format, std::string text_field)
    : path_(std::move(path)), format_(format), text_field_(std::move(text_field)), in_(path_, std::ios::binary) {}

absl::StatusOr<std::unique_ptr<DocumentReader>> DocumentReader::Open(const std::string& path, TextFormat format,
                                                                     const std::string& text_field) {
  if (format == TextFormat::kAuto) format = FormatFromPath(path);
  std::unique_ptr<DocumentReader> reader(new DocumentReader(path, format, text_field));
  if (!reader->in_.is_open()) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  return reader;
}

absl::StatusOr<std::optional<Document>> DocumentReader::Next() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto where = [&] { return absl::StrCat(path_, ":", line_, ": "); };
    if (std::all_of(line.begin(), line.end(), [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
      continue;
    }
    if (format_ == TextFormat::kPlain) {
      if (auto bad = FindInvalidUtf8(line)) {
        return absl::InvalidArgumentError(absl::StrCat(where(), "invalid UTF-8 at byte ", *bad + 1, " of the line"));
      }
      return Document{std::move(line), line_};
    }
    nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      // Parse again with exceptions for the parser's own position and reason.
      std::string reason = "invalid JSON";
      try {
        [[maybe_unused]] nlohmann::json again = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        reason = absl::StrCat("invalid JSON at byte ", e.byte, " of the line");
      }
      return absl::InvalidArgumentError(absl::StrCat(where(), reason));
    }
    if (!value.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "expected a JSON object, found ", value.type_name()));
    }
    auto field = value.find(text_field_);
    if (field == value.end()) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "missing field \"", text_field_, "\""));
    }
    if (!field->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "field \"", text_field_, "\" is a ", field->type_name(), ", expected a string"));
    }
    return Document{field->get<std::string>(), line_};
  }
  if (in_.bad()) return absl::DataLossError(absl::StrCat(path_, ": read error after line ", line_));
  return std::nullopt;
}

}  // namespace nmoe::data
