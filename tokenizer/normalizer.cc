#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/utf8.h"

namespace nmoe::tokenizer {
namespace {

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// One bit per code point: true when the code point can never change under
// NFC, whatever surrounds it: a starter (combining class 0) that is not the
// second element of any canonical composition (so it never composes with
// what precedes it) and that NFC maps to itself. Text made only of such code
// points is already NFC (nothing to reorder, decompose or compose).
class NfcInert {
 public:
  NfcInert() : bits_((0x110000 + 63) / 64, 0) {
    std::vector<bool> second(0x110000, false);
    utf8proc_int32_t buffer[16];
    std::vector<bool> decomposable(0x110000, false);
    for (utf8proc_int32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c < 0xE000) continue;
      int boundclass = 0;
      const utf8proc_ssize_t n = utf8proc_decompose_char(c, buffer, 16, UTF8PROC_DECOMPOSE, &boundclass);
      if (n == 1 && buffer[0] == c) continue;
      decomposable[c] = true;
      // Conservatively every element but the first may be the second of a pair.
      for (utf8proc_ssize_t k = 1; k < n && k < 16; ++k) second[buffer[k]] = true;
    }
    for (utf8proc_int32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c < 0xE000) continue;
      if (utf8proc_get_property(c)->combining_class != 0 || second[c]) continue;
      if (decomposable[c] && !ComposesBackToItself(c)) continue;
      bits_[c >> 6] |= uint64_t{1} << (c & 63);
    }
  }

  bool Contains(char32_t c) const { return (bits_[c >> 6] >> (c & 63)) & 1; }

  // True when every code point of well-formed UTF-8 `text` is inert.
  bool AllInert(std::string_view text) const {
    for (size_t i = 0; i < text.size();) {
      if (static_cast<unsigned char>(text[i]) < 0x80) {
        ++i;
        continue;
      }
      char32_t c;
      i += DecodeUtf8(text, i, &c);
      if (!Contains(c)) return false;
    }
    return true;
  }

 private:
  static bool ComposesBackToItself(utf8proc_int32_t c) {
    std::string one;
    AppendUtf8(static_cast<char32_t>(c), &one);
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(one.data()),
                                              static_cast<utf8proc_ssize_t>(one.size()), &mapped,
                                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    const bool same = len == static_cast<utf8proc_ssize_t>(one.size()) &&
                      std::string_view(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len)) == one;
    std::free(mapped);
    return same;
  }

  std::vector<uint64_t> bits_;
};

const NfcInert& GetNfcInert() {
  static const NfcInert inert;
  return inert;
}

int OptionsOf(NormalForm form) {
  switch (form) {
    case NormalForm::kNFC:
      return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    case NormalForm::kNFD:
      return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    case NormalForm::kNFKC:
      return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    case NormalForm::kNFKD:
      return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  }
  return UTF8PROC_STABLE;
}

}  // namespace

bool IsNfcInert(char32_t c) { return c < 0x110000 && GetNfcInert().Contains(c); }

std::string Normalizer::Apply(std::string_view text) const {
  std::string current(text);
  if (steps_.empty() || IsAscii(text)) return current;
  for (const NormalForm form : steps_) {
    if (form == NormalForm::kNFC && GetNfcInert().AllInert(current)) continue;
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t len =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(current.data()),
                     static_cast<utf8proc_ssize_t>(current.size()), &mapped,
                     static_cast<utf8proc_option_t>(OptionsOf(form)));
    // utf8proc only fails on ill-formed input or out of memory; the input is
    // well-formed (callers replace invalid UTF-8 first), so keep the text.
    if (len < 0) continue;
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
    current.assign(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len));
  }
  return current;
}

}  // namespace nmoe::tokenizer
