// Readers for document sources: plain text (one document per line) and JSONL
// (one JSON object per line with a string field, "text" by default, as CulturaX ships).
//
// Both stream the file line by line. Lines are split on '\n'; a trailing '\r' is
// removed. Plain text: empty (or whitespace-only) lines are skipped. JSONL: empty
// lines are skipped; every other line must be a JSON object with a string field.
// Text must be valid UTF-8. Errors are INVALID_ARGUMENT "PATH:LINE: reason".
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace nmoe::data {

enum class TextFormat {
  kAuto,   // from the extension: .jsonl / .json / .ndjson -> kJsonl, else kPlain
  kPlain,
  kJsonl,
};

struct Document {
  std::string text;
  uint64_t line = 0;  // 1-based line number in the file
};

class DocumentReader {
 public:
  // NOT_FOUND when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<DocumentReader>> Open(const std::string& path,
                                                              TextFormat format = TextFormat::kAuto,
                                                              const std::string& text_field = "text");

  // The next document, std::nullopt at the end of the file, or an error naming the
  // line. After an error the reader is positioned after the bad line.
  absl::StatusOr<std::optional<Document>> Next();

  TextFormat format() const { return format_; }
  const std::string& path() const { return path_; }

 private:
  DocumentReader(std::string path, TextFormat format, std::string text_field);

  std::string path_;
  TextFormat format_;
  std::string text_field_;
  std::ifstream in_;
  uint64_t line_ = 0;
};

// Byte offset of the first invalid UTF-8 sequence in `text` (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or std::nullopt.
std::optional<size_t> FindInvalidUtf8(std::string_view text);

// TextFormat from a file name (see kAuto).
TextFormat FormatFromPath(const std::string& path);

}  // namespace nmoe::data
