#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

#include "tokenizer/byte_level.h"

namespace nmoe::tokenizer {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xE4\xB8"));  // truncated after an ASCII run
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

// The WHATWG decoder replaces each maximal subpart of an ill-formed sequence
// by one U+FFFD (Unicode 3.9, "U+FFFD Substitution of Maximal Subparts").
TEST(Utf8Test, ReplacesMaximalSubparts) {
  EXPECT_EQ(ReplaceInvalidUtf8("ok"), "ok");
  EXPECT_EQ(ReplaceInvalidUtf8("\xF0\x9F\x98"), kFffd);                  // truncated: one
  EXPECT_EQ(ReplaceInvalidUtf8("\xF0\x9F\x98x"), kFffd + "x");
  EXPECT_EQ(ReplaceInvalidUtf8("\xC0\xAF"), kFffd + kFffd);              // C0 never leads
  EXPECT_EQ(ReplaceInvalidUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // A0 outside 80..9F
  EXPECT_EQ(ReplaceInvalidUtf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(ReplaceInvalidUtf8("a\xE4\xB8\xE4\xB8\xAD"), "a" + kFffd + "\xE4\xB8\xAD");
  EXPECT_EQ(ReplaceInvalidUtf8("\xFF\xFE"), kFffd + kFffd);
}

TEST(Utf8Test, DecodeAndAppendRoundTrip) {
  for (const char32_t c : {U'\0', U'a', U'\u00E9', U'\u4E2D', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(c, &s);
    ASSERT_TRUE(IsValidUtf8(s));
    char32_t back = 0;
    EXPECT_EQ(DecodeUtf8(s, 0, &back), s.size());
    EXPECT_EQ(back, c);
    EXPECT_EQ(LastCodePointLength("x" + s), s.size());
  }
}

TEST(Utf8Test, WhiteSpaceIsUnicodeWhiteSpace) {
  for (const char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\u0085', U'\u00A0', U'\u2028', U'\u3000'}) {
    EXPECT_TRUE(IsWhiteSpace(c)) << static_cast<int>(c);
  }
  // U+180E stopped being White_Space in Unicode 6.3; U+200B and U+FEFF never were.
  for (const char32_t c : {U'\u180E', U'\u200B', U'\uFEFF', U'a', U'_'}) EXPECT_FALSE(IsWhiteSpace(c));
}

TEST(ByteLevelTest, Alphabet) {
  EXPECT_EQ(BytesToByteLevel(" the\n"), "\xC4\xA0the\xC4\x8A");  // "Ġthe" + "Ċ"
  EXPECT_EQ(BytesToByteLevel("\xC3\xA9"), "\xC3\x83\xC2\xA9");  // é's two bytes: "Ã©"
  EXPECT_EQ(ByteToChar(0), U'\u0100');
  EXPECT_EQ(ByteToChar(0xAD), U'\u0143');
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_EQ(ByteLevelToBytes(BytesToByteLevel(one)), one);
    EXPECT_EQ(CharToByte(ByteToChar(static_cast<uint8_t>(b))), b);
  }
  EXPECT_FALSE(ByteLevelToBytes(" "));         // a raw space is not in the alphabet
  EXPECT_FALSE(ByteLevelToBytes("\xC5\x84"));  // U+0144: just past the alphabet
  EXPECT_FALSE(ByteLevelToBytes("\xFF"));      // not UTF-8
}

}  // namespace
}  // namespace nmoe::tokenizer
