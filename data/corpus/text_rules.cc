#include "data/corpus/text_rules.h"

#include "data/hash.h"

namespace nmoe::data {
namespace {

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes yield U+FFFD.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || *i + static_cast<size_t>(len) > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[*i + static_cast<size_t>(k)]);
    if ((cc >> 6) != 2) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  *i += static_cast<size_t>(len);
  return cp;
}

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

}  // namespace

std::string NormalizeWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    bool space = false;
    size_t width = 1;
    if (IsAsciiSpace(text[i])) {
      space = true;
    } else if (static_cast<unsigned char>(text[i]) == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      space = true;
      width = 2;
    }
    if (space) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(text[i]);
    }
    i += width;
  }
  return out;
}

bool IsCjkCodePoint(uint32_t cp) {
  return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x3134F) || (cp >= 0x3040 && cp <= 0x309F) || (cp >= 0x30A0 && cp <= 0x30FF) ||
         (cp >= 0x31F0 && cp <= 0x31FF) || (cp >= 0xFF66 && cp <= 0xFF9F) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

int WordUnits(std::string_view line) {
  int plain_tokens = 0;
  int cjk_chars = 0;
  bool in_token = false;
  bool token_has_cjk = false;
  for (size_t i = 0; i <= line.size();) {
    if (i == line.size() || IsAsciiSpace(line[i])) {
      if (in_token && !token_has_cjk) ++plain_tokens;
      in_token = false;
      token_has_cjk = false;
      ++i;
      continue;
    }
    in_token = true;
    if (IsCjkCodePoint(NextCodePoint(line, &i))) {
      token_has_cjk = true;
      ++cjk_chars;
    }
  }
  return plain_tokens + cjk_chars / 2;
}

const char* SplitName(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValidation:
      return "validation";
    case Split::kTest:
      return "test";
  }
  return "?";
}

Split SplitOfPage(std::string_view page_path) {
  uint64_t bucket = Fnv1a64(page_path) % 100;
  if (bucket < 90) return Split::kTrain;
  if (bucket < 95) return Split::kValidation;
  return Split::kTest;
}

}  // namespace nmoe::data
