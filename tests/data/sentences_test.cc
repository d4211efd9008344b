#include "data/sentences.h"

#include <cstdlib>
#include <fstream>
#include <set>

#include "data/text_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

using ::testing::ElementsAre;

TEST(SplitSentencesTest, EnglishPunctuationAndAbbreviations) {
  EXPECT_THAT(SplitSentences("Open the file. Then save it! Done? Yes.", "en"),
              ElementsAre("Open the file.", "Then save it!", "Done?", "Yes."));
  // No break inside numbers, after e.g./i.e., single-letter initials, or before lowercase.
  EXPECT_THAT(SplitSentences("Version 7.4 is new, e.g. for Calc. J. Smith wrote it. See approx. three pages.", "en"),
              ElementsAre("Version 7.4 is new, e.g. for Calc.", "J. Smith wrote it.", "See approx. three pages."));
  EXPECT_THAT(SplitSentences("Wait... What?! \"Quoted.\" (Bracketed.) End", "en"),
              ElementsAre("Wait...", "What?!", "\"Quoted.\"", "(Bracketed.)", "End"));
  EXPECT_THAT(SplitSentences("  spaced\n\tout .  ", "en"), ElementsAre("spaced out ."));
  // A menu path with an ellipsis goes on after a dash.
  EXPECT_THAT(SplitSentences("Wählen Sie Extras – Optionen… – LibreOffice Calc. Dann OK!", "de"),
              ElementsAre("Wählen Sie Extras – Optionen… – LibreOffice Calc.", "Dann OK!"));
  EXPECT_THAT(SplitSentences("", "en"), ElementsAre());
}

TEST(SplitSentencesTest, GreekQuestionMark) {
  // ';' is the Greek question mark (both U+003B and U+037E); elsewhere it is not a terminator.
  EXPECT_THAT(SplitSentences("Τι είναι αυτό; Ένα αρχείο. Πού είναι\xcd\xbe Εδώ.", "el"),
              ElementsAre("Τι είναι αυτό;", "Ένα αρχείο.", "Πού είναι\xcd\xbe", "Εδώ."));
  EXPECT_THAT(SplitSentences("First part; second part.", "en"), ElementsAre("First part; second part."));
}

TEST(SplitSentencesTest, ChineseAndJapanese) {
  EXPECT_THAT(SplitSentences("打开文件。保存文件！完成了吗？好的", "zh"),
              ElementsAre("打开文件。", "保存文件！", "完成了吗？", "好的"));
  EXPECT_THAT(SplitSentences("「ファイルを開く。」と書きます。LibreOffice 7.4 です。", "ja"),
              ElementsAre("「ファイルを開く。」", "と書きます。", "LibreOffice 7.4 です。"));
}

TEST(SplitSentencesTest, RussianAbbreviation) {
  EXPECT_THAT(SplitSentences("Это пример, т.е. тест. Второе предложение.", "ru"),
              ElementsAre("Это пример, т.е. тест.", "Второе предложение."));
}

std::vector<std::string> Paragraphs(int n) {
  std::vector<std::string> p;
  for (int i = 0; i < n; ++i) {
    p.push_back("Sentence number " + std::to_string(i) + " has enough words. Short one. Another sentence " +
                std::to_string(i) + " with some more words here.");
  }
  return p;
}

TEST(SelectSentencesTest, SeededAndFiltered) {
  SentenceSetOptions o;
  o.count = 20;
  o.seed = 3;
  SentenceSetStats stats;
  auto a = SelectSentences(Paragraphs(30), "en", o, nullptr, &stats);
  auto b = SelectSentences(Paragraphs(30), "en", o, nullptr);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), 20u);
  EXPECT_EQ(stats.sentences, 90u);
  EXPECT_EQ(stats.dropped_length, 30u);  // "Short one." has 2 words
  EXPECT_EQ(std::set<std::string>(a->begin(), a->end()).size(), 20u);
  o.seed = 4;
  auto c = SelectSentences(Paragraphs(30), "en", o, nullptr);
  EXPECT_NE(*a, *c);
  auto d = SelectSentences(Paragraphs(30), "de", o, nullptr);  // the language is part of the seed
  EXPECT_NE(*c, *d);
}

TEST(SelectSentencesTest, TokenLimitWithAnEncoder) {
  // A byte-level encoder (one id per UTF-8 byte) is a real, if simple, tokenizer.
  int calls = 0;
  Encoder bytes = [&](std::string_view s) {
    ++calls;
    return std::vector<int32_t>(s.begin(), s.end());
  };
  SentenceSetOptions o;
  o.count = 10;
  o.max_tokens = 40;  // "Sentence number N has enough words." fits; "Another sentence N with ..." does not
  SentenceSetStats stats;
  auto s = SelectSentences(Paragraphs(30), "en", o, &bytes, &stats);
  ASSERT_TRUE(s.ok()) << s.status();
  for (const std::string& x : *s) EXPECT_LE(x.size(), 40u) << x;
  EXPECT_EQ(static_cast<uint64_t>(calls), 10 + stats.dropped_tokens);  // encodes only as many as needed
  o.count = 31;
  auto too_many = SelectSentences(Paragraphs(30), "en", o, &bytes);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(too_many.status().message()), ::testing::HasSubstr("only 30 of 31 sentences for 'en'"));
  o.allow_fewer = true;
  EXPECT_EQ(SelectSentences(Paragraphs(30), "en", o, &bytes)->size(), 30u);
}

TEST(SentenceSetFileTest, RoundTripAndErrors) {
  testing::TempDir tmp;
  std::vector<LabeledSentence> set = {{"el", "Τι είναι αυτό;"}, {"zh", "打开文件。"}, {"en", "With \"quotes\"\tand tab."}};
  ASSERT_TRUE(WriteSentenceSet(tmp.file("s.jsonl"), set).ok());
  auto back = ReadSentenceSet(tmp.file("s.jsonl"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, set);
  std::ofstream(tmp.file("bad.jsonl")) << "{\"lang\":\"en\",\"text\":\"ok\"}\n{\"text\":\"no lang\"}\n";
  auto bad = ReadSentenceSet(tmp.file("bad.jsonl"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("bad.jsonl:2: missing string field \"lang\""));
}

// The committed corpus sample yields 100 profiling sentences in every language.
TEST(SelectSentencesTest, CommittedSampleHasEnoughSentences) {
  const char* src = std::getenv("NMOE_SOURCE_DIR");
  for (const char* lang : {"en", "es", "zh", "de", "fr", "ru", "ja", "fi", "el", "hu", "tr"}) {
    auto reader = DocumentReader::Open(std::string(src ? src : ".") + "/tests/data/corpus/" + lang + "/train.txt");
    ASSERT_TRUE(reader.ok()) << reader.status();
    std::vector<std::string> paragraphs;
    while (true) {
      auto doc = (*reader)->Next();
      ASSERT_TRUE(doc.ok()) << doc.status();
      if (!doc->has_value()) break;
      paragraphs.push_back((*doc)->text);
    }
    SentenceSetOptions o;
    o.count = 100;
    SentenceSetStats stats;
    auto s = SelectSentences(paragraphs, lang, o, nullptr, &stats);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_GT(stats.sentences, paragraphs.size()) << lang;  // paragraphs do split
  }
}

}  // namespace
}  // namespace nmoe::data
