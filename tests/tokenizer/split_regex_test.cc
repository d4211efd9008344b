#include "tokenizer/split_regex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_join.h"
#include "tokenizer/bpe_trainer.h"

namespace nmoe::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Pieces(const SplitRegex& regex, std::string_view text) {
  std::vector<std::string_view> views;
  regex.Split(text, &views);
  return {views.begin(), views.end()};
}

SplitRegex Llama3() {
  absl::StatusOr<SplitRegex> r = SplitRegex::Compile(kLlama3SplitRegex, true, SplitBehavior::kIsolated);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

TEST(TranslatePatternTest, RewritesWhatDiffersFromOniguruma) {
  EXPECT_EQ(*TranslateOnigurumaPattern(R"(\s+(?!\S))"), R"(\p{White_Space}+(?!\P{White_Space}))");
  EXPECT_EQ(*TranslateOnigurumaPattern("(?i:'s|'ll)"), "(?:'[sS]|'[lL][lL])");
  // \p{L} gains the newer letters, in and out of classes.
  const std::string letters = *TranslateOnigurumaPattern(R"(\p{L}+)");
  EXPECT_THAT(letters, HasSubstr(R"([\p{L}\x{88F})"));
  EXPECT_THAT(*TranslateOnigurumaPattern(R"([^\r\n\p{N}])"), HasSubstr(R"([^\r\n\p{N}\x{10D40}-\x{10D49})"));
  EXPECT_EQ(*TranslateOnigurumaPattern(R"(\p{Lu}[\]a]\d{1,3})"), R"(\p{Lu}[\]a]\d{1,3})");
}

TEST(TranslatePatternTest, RejectsConstructsThatDifferWithAPreciseError) {
  for (const char* p : {R"(\w+)", R"(\bx)", R"(\h)", "(?i)abc", "[a[bc]]", "(?i:[a-z])", "[a&&b]", "(?<n>x)"}) {
    const absl::StatusOr<std::string> t = TranslateOnigurumaPattern(p);
    ASSERT_FALSE(t.ok()) << p;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kUnimplemented) << p;
    EXPECT_THAT(t.status().message(), HasSubstr("at offset")) << p;
  }
}

TEST(SplitRegexTest, Llama3PatternPieces) {
  const SplitRegex r = Llama3();
  EXPECT_THAT(Pieces(r, "Hello world, it's  1234567!\n\n  x"),
              ElementsAre("Hello", " world", ",", " it", "'s", " ", " ", "123", "456", "7", "!\n\n", " ", " x"));
  EXPECT_THAT(Pieces(r, "DON'T we'LL"), ElementsAre("DON", "'T", " we", "'LL"));
  // The long s folds to s under Unicode case folding; HF's JS reference (and
  // this translation) fold ASCII only.
  EXPECT_THAT(Pieces(r, "x'\xC5\xBF"), ElementsAre("x", "'\xC5\xBF"));
  // U+180E is not White_Space (PCRE2's \s would take it).
  EXPECT_THAT(Pieces(r, "x\xE1\xA0\x8E!"), ElementsAre("x", "\xE1\xA0\x8E!"));
  EXPECT_THAT(Pieces(r, "x\xE2\x80\x83!"), ElementsAre("x", "\xE2\x80\x83", "!"));  // U+2003 is White_Space
  // U+31350 (CJK Extension H, Unicode 15) is a letter.
  EXPECT_THAT(Pieces(r, "x\xF0\xB1\x8D\x90y 1"), ElementsAre("x\xF0\xB1\x8D\x90y", " ", "1"));
}

TEST(SplitRegexTest, IsolatedPiecesCoverTheText) {
  const SplitRegex r = Llama3();
  const std::string text = "Ünïcödé 中文 テスト\t\tend\r\n ١٢٣٤ 🙂🙂 a\u00A0b";
  EXPECT_EQ(absl::StrJoin(Pieces(r, text), ""), text);
}

TEST(SplitRegexTest, HugeRunsFinish) {
  const SplitRegex r = Llama3();
  const std::string spaces(1 << 20, ' ');
  EXPECT_THAT(Pieces(r, spaces), ElementsAre(spaces));
  EXPECT_EQ(Pieces(r, spaces + "x").size(), 2u);
  const std::string letters(1 << 20, 'a');
  EXPECT_THAT(Pieces(r, letters), ElementsAre(letters));
  std::string mixed;
  for (int i = 0; i < 100000; ++i) mixed += " \n";
  EXPECT_EQ(absl::StrJoin(Pieces(r, mixed + "z"), ""), mixed + "z");
}

TEST(SplitRegexTest, RemovedAndLiteral) {
  absl::StatusOr<SplitRegex> removed = SplitRegex::Compile("-+", true, SplitBehavior::kRemoved);
  ASSERT_TRUE(removed.ok());
  EXPECT_THAT(Pieces(*removed, "a--b-c-"), ElementsAre("a", "b", "c"));
  absl::StatusOr<SplitRegex> literal = SplitRegex::Compile("a.b", false, SplitBehavior::kIsolated);
  ASSERT_TRUE(literal.ok());
  EXPECT_THAT(Pieces(*literal, "xa.bya-b"), ElementsAre("x", "a.b", "ya-b"));
  absl::StatusOr<SplitRegex> empty = SplitRegex::Compile("x*", true, SplitBehavior::kIsolated);
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(Pieces(*empty, "abxxc"), ElementsAre("ab", "xx", "c"));
}

TEST(SplitRegexTest, BadPatternIsInvalidArgument) {
  const absl::StatusOr<SplitRegex> r = SplitRegex::Compile("(a", true, SplitBehavior::kIsolated);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("does not compile"));
}

}  // namespace
}  // namespace nmoe::tokenizer
