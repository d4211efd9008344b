#include "data/corpus/text_rules.h"

#include "data/hash.h"
#include "gtest/gtest.h"

namespace nmoe::data {
namespace {

TEST(TextRulesTest, NormalizeWhitespace) {
  EXPECT_EQ(NormalizeWhitespace("  a \t\n b\r\n"), "a b");
  EXPECT_EQ(NormalizeWhitespace("x\xc2\xa0\xc2\xa0y"), "x y");
  EXPECT_EQ(NormalizeWhitespace("\xe3\x80\x80z"), "\xe3\x80\x80z");  // U+3000 is kept
  EXPECT_EQ(NormalizeWhitespace(" \t "), "");
}

TEST(TextRulesTest, WordUnits) {
  EXPECT_EQ(WordUnits("Opens the Formula bar"), 4);
  EXPECT_EQ(WordUnits("  spaced   out  words  "), 3);
  // 13 CJK characters (the final 。 is punctuation, not counted): 13 / 2 = 6.
  EXPECT_EQ(WordUnits("打开公式栏以输入或编辑公式。"), 6);
  // "LibreOffice" 1 + "7.4" 1 + 4 CJK characters (2) = 4.
  EXPECT_EQ(WordUnits("LibreOffice 7.4 帮助文档"), 4);
  // Mixed token counts only its CJK characters: "Calc的" = 1 CJK; "帮助" = 2 -> 3 / 2 = 1.
  EXPECT_EQ(WordUnits("Calc的 帮助"), 1);
  EXPECT_EQ(WordUnits("ヘルプを表示します"), 4);  // 9 kana/kanji
  EXPECT_EQ(WordUnits(""), 0);
}

TEST(TextRulesTest, Fnv1aKnownValues) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(TextRulesTest, SplitsAreStableAndBalanced) {
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 20000; ++i) {
    ++counts[static_cast<int>(SplitOfPage("text/page" + std::to_string(i) + ".html"))];
  }
  EXPECT_NEAR(counts[0], 18000, 300);
  EXPECT_NEAR(counts[1], 1000, 150);
  EXPECT_NEAR(counts[2], 1000, 150);
  EXPECT_STREQ(SplitName(SplitOfPage("text/swriter/main0110.html")),
               SplitName(static_cast<Split>(Fnv1a64("text/swriter/main0110.html") % 100 < 90   ? 0
                                            : Fnv1a64("text/swriter/main0110.html") % 100 < 95 ? 1
                                                                                               : 2)));
}

TEST(HashTest, Sha256KnownValue) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace nmoe::data
