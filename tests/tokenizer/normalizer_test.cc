#include "tokenizer/normalizer.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <random>

#include "tokenizer/utf8.h"

namespace nmoe::tokenizer {
namespace {

// NFC straight from utf8proc (no fast path).
std::string DirectNfc(const std::string& text) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                            static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                                            static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len));
  std::free(mapped);
  return out;
}

std::string Utf8(std::u32string_view code_points) {
  std::string s;
  for (const char32_t c : code_points) AppendUtf8(c, &s);
  return s;
}

TEST(NormalizerTest, Forms) {
  const std::string decomposed = Utf8(U"e\u0301 A\u030A \u212B \u1100\u1161\u11A8 \uFB01");
  EXPECT_EQ(Normalizer({NormalForm::kNFC}).Apply(decomposed), Utf8(U"\u00E9 \u00C5 \u00C5 \uAC01 \uFB01"));
  EXPECT_EQ(Normalizer({NormalForm::kNFKC}).Apply(decomposed), Utf8(U"\u00E9 \u00C5 \u00C5 \uAC01 fi"));
  EXPECT_EQ(Normalizer({NormalForm::kNFD}).Apply(Utf8(U"\u00E9")), Utf8(U"e\u0301"));
  EXPECT_EQ(Normalizer({NormalForm::kNFKD}).Apply(Utf8(U"\uFB01\u00E9")), Utf8(U"fie\u0301"));
  EXPECT_EQ(Normalizer().Apply(decomposed), decomposed);
  EXPECT_EQ(Normalizer({NormalForm::kNFC}).Apply(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(NormalizerTest, InertTable) {
  // Never changed by NFC and never composing with what precedes them.
  for (const char32_t c : {U'a', U'\u00E9', U'\u03AC', U'\u4E2D', U'\uAC00', U'\u1100', U'\U0001F600', U'\u0915'}) {
    EXPECT_TRUE(IsNfcInert(c)) << static_cast<uint32_t>(c);
  }
  // Combining marks, singletons, exclusions, Hangul V/T jamo, Indic length marks.
  for (const char32_t c : {U'\u0301', U'\u212B', U'\u0344', U'\uF900', U'\u1161', U'\u11A8', U'\u0B3E', U'\u0DCF',
                           U'\u0958'}) {
    EXPECT_FALSE(IsNfcInert(c)) << static_cast<uint32_t>(c);
  }
}

// Strings of inert code points are NFC already (checked against utf8proc
// itself, without the fast path), and strings mixing in other code points
// normalise exactly as utf8proc does.
TEST(NormalizerTest, FastPathAgreesWithUtf8proc) {
  std::vector<char32_t> inert;
  std::vector<char32_t> other;
  for (char32_t c = 0x80; c < 0x110000; ++c) {
    if (c >= 0xD800 && c < 0xE000) continue;
    if (utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_CN) continue;
    (IsNfcInert(c) ? inert : other).push_back(c);
  }
  ASSERT_GT(inert.size(), 100000u);
  ASSERT_GT(other.size(), 1000u);
  const Normalizer nfc({NormalForm::kNFC});
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20000; ++trial) {
    std::u32string s;
    const int len = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < len; ++k) s.push_back(inert[rng() % inert.size()]);
    const std::string text = Utf8(s);
    ASSERT_EQ(DirectNfc(text), text) << "U+" << std::hex << static_cast<uint32_t>(s[0]);
    if (trial % 4 == 0) s.insert(s.begin() + static_cast<long>(rng() % (s.size() + 1)), other[rng() % other.size()]);
    const std::string mixed = Utf8(s);
    ASSERT_EQ(nfc.Apply(mixed), DirectNfc(mixed));
  }
}

}  // namespace
}  // namespace nmoe::tokenizer
