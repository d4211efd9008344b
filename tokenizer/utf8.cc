#include "tokenizer/utf8.h"

#include <cstdint>
#include <cstring>

namespace nmoe::tokenizer {
namespace {

// For a lead byte: the number of continuation bytes and the allowed range of
// the first one (Unicode Table 3-7); need < 0 for bytes that cannot lead.
struct Lead {
  int need;
  uint8_t lower;
  uint8_t upper;
};

Lead LeadOf(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  return {-1, 0, 0};
}

// The length of the well-formed sequence at `pos`, or 0 when ill-formed; in
// that case *consumed is the length of the maximal subpart to replace (>= 1).
size_t WellFormedLength(std::string_view s, size_t pos, size_t* consumed) {
  const uint8_t b = static_cast<uint8_t>(s[pos]);
  if (b < 0x80) return 1;
  const Lead lead = LeadOf(b);
  if (lead.need < 0) {
    *consumed = 1;
    return 0;
  }
  uint8_t lower = lead.lower;
  uint8_t upper = lead.upper;
  size_t j = pos + 1;
  for (int k = 0; k < lead.need; ++k, ++j) {
    if (j >= s.size()) {
      *consumed = j - pos;
      return 0;
    }
    const uint8_t c = static_cast<uint8_t>(s[j]);
    if (c < lower || c > upper) {
      *consumed = j - pos;
      return 0;
    }
    lower = 0x80;
    upper = 0xBF;
  }
  return j - pos;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // ASCII runs, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    size_t consumed = 0;
    const size_t len = WellFormedLength(text, i, &consumed);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string ReplaceInvalidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  while (i < text.size()) {
    size_t consumed = 0;
    const size_t len = WellFormedLength(text, i, &consumed);
    if (len > 0) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      i += consumed;
    }
  }
  return out;
}

size_t DecodeUtf8(std::string_view text, size_t pos, char32_t* code_point) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  auto cont = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(text[pos + k]) & 0x3F); };
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  if (b0 < 0xE0) {
    *code_point = (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
    return 2;
  }
  if (b0 < 0xF0) {
    *code_point = (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    return 3;
  }
  *code_point = (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
  return 4;
}

size_t LastCodePointLength(std::string_view text) {
  size_t len = 1;
  while (len < text.size() && len < 4 &&
         (static_cast<uint8_t>(text[text.size() - len]) & 0xC0) == 0x80) {
    ++len;
  }
  return len;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool IsWhiteSpace(char32_t c) {
  // Unicode PropList.txt, White_Space (unchanged since Unicode 6.3).
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

}  // namespace nmoe::tokenizer
