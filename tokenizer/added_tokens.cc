#include "tokenizer/added_tokens.h"

#include <utf8proc.h>

#include "tokenizer/utf8.h"

namespace nmoe::tokenizer {
namespace {

// Rust's char::is_alphanumeric, as HF's single_word test uses it: Unicode
// letters and numbers (General_Category L* and N*).
bool IsAlphanumeric(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

}  // namespace

void AddedTokenMatcher::Add(std::string_view content, const AddedToken& token) {
  if (content.empty()) return;
  if (terminal_.empty()) terminal_.push_back(-1);
  int32_t node = 0;
  for (const char c : content) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
    auto it = edges_.find(key);
    if (it == edges_.end()) {
      const auto child = static_cast<int32_t>(terminal_.size());
      terminal_.push_back(-1);
      it = edges_.emplace(key, child).first;
    }
    node = it->second;
  }
  first_byte_[static_cast<uint8_t>(content[0])] = true;
  if (terminal_[node] >= 0) return;  // the same content twice: the first token wins
  terminal_[node] = static_cast<int32_t>(tokens_.size());
  tokens_.push_back({token, content.size()});
}

int AddedTokenMatcher::LongestAt(std::string_view text, size_t pos, size_t* length) const {
  int best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[i]);
    const auto it = edges_.find(key);
    if (it == edges_.end()) break;
    node = it->second;
    if (terminal_[node] >= 0) {
      best = terminal_[node];
      *length = i + 1 - pos;
    }
  }
  return best;
}

bool AddedTokenMatcher::AcceptSingleWord(std::string_view text, size_t begin, size_t end) const {
  if (begin > 0) {
    char32_t c;
    DecodeUtf8(text, begin - LastCodePointLength(text.substr(0, begin)), &c);
    if (IsAlphanumeric(c)) return false;
  }
  if (end < text.size()) {
    char32_t c;
    DecodeUtf8(text, end, &c);
    if (IsAlphanumeric(c)) return false;
  }
  return true;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<Segment>* out) const {
  if (tokens_.empty()) {
    if (!text.empty()) out->push_back({text, -1});
    return;
  }
  size_t plain_begin = 0;  // start of the pending plain text
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const int index = LongestAt(text, pos, &length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const Entry& entry = tokens_[index];
    size_t begin = pos;
    size_t end = pos + length;
    if (entry.token.single_word && !AcceptSingleWord(text, begin, end)) {
      ++pos;
      continue;
    }
    if (entry.token.lstrip) {
      while (begin > plain_begin) {
        const size_t len = LastCodePointLength(text.substr(0, begin));
        char32_t c;
        DecodeUtf8(text, begin - len, &c);
        if (!IsWhiteSpace(c)) break;
        begin -= len;
      }
    }
    if (entry.token.rstrip) {
      while (end < text.size()) {
        char32_t c;
        const size_t len = DecodeUtf8(text, end, &c);
        if (!IsWhiteSpace(c)) break;
        end += len;
      }
    }
    if (begin > plain_begin) out->push_back({text.substr(plain_begin, begin - plain_begin), -1});
    out->push_back({text.substr(begin, end - begin), entry.token.id});
    plain_begin = end;
    pos = end;
  }
  if (plain_begin < text.size()) out->push_back({text.substr(plain_begin), -1});
}

}  // namespace nmoe::tokenizer
