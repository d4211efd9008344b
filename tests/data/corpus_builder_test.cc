// Cleaning rules, splits, sample budgets and the on-disk output, without network:
// synthetic pages plus the real fixture pages in tests/data/fixtures/help.
#include "data/corpus/corpus_builder.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/corpus/fetch_corpus.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string SourceDir() {
  const char* s = std::getenv("NMOE_SOURCE_DIR");
  return s ? s : ".";
}

// Finds a page path that lands in `split`.
std::string PathIn(Split split, int salt = 0) {
  for (int i = 0;; ++i) {
    std::string path = "text/p" + std::to_string(salt) + "_" + std::to_string(i) + ".html";
    if (SplitOfPage(path) == split) return path;
  }
}

TEST(CleanLanguageTest, AppliesRulesInOrder) {
  const std::string a = PathIn(Split::kTrain, 1);
  const std::string b = PathIn(Split::kTest, 2);
  std::vector<HelpPage> english = {
      {a, {"Shared line that stays English in the translation", "Another English sentence of enough words"}},
      {b, {"Yet another English sentence here, long enough"}}};
  std::vector<HelpPage> greek = {
      {a, {"Shared line that stays English in the translation",  // untranslated
           "Μια μεταφρασμένη πρόταση με αρκετές λέξεις",           // kept
           "Πολύ σύντομη",                                          // short (2 words)
           "Μια μεταφρασμένη πρόταση με αρκετές λέξεις"}},          // duplicate
      {b, {"Yet another English sentence here, long enough on another page",  // differs: kept
           "Shared line that stays English in the translation"}}};  // English, but of another page: kept
  CleanCorpus c = CleanLanguage(greek, &english, CleanOptions{});
  EXPECT_EQ(c.stats.pages, 2u);
  EXPECT_EQ(c.stats.lines_extracted, 6u);
  EXPECT_EQ(c.stats.dropped_untranslated, 1u);
  EXPECT_EQ(c.stats.dropped_short, 1u);
  EXPECT_EQ(c.stats.dropped_duplicate, 1u);
  EXPECT_EQ(c.stats.kept, 3u);
  EXPECT_THAT(c.splits[0], ElementsAre("Μια μεταφρασμένη πρόταση με αρκετές λέξεις"));
  EXPECT_THAT(c.splits[1], IsEmpty());
  EXPECT_THAT(c.splits[2], ElementsAre("Yet another English sentence here, long enough on another page",
                                       "Shared line that stays English in the translation"));
  // English itself drops nothing as untranslated.
  CleanCorpus en = CleanLanguage(english, nullptr, CleanOptions{});
  EXPECT_EQ(en.stats.dropped_untranslated, 0u);
  EXPECT_EQ(en.stats.kept, 3u);
}

TEST(CleanLanguageTest, SampleIsAPrefixOfTheFullCorpus) {
  std::vector<HelpPage> pages;
  for (int i = 0; i < 200; ++i) {
    pages.push_back({"text/page" + std::to_string(i) + ".html",
                     {"Line number " + std::to_string(i) + " of a synthetic page with words",
                      "Second line " + std::to_string(i) + " with a few more words"}});
  }
  CleanCorpus full = CleanLanguage(pages, nullptr, CleanOptions{});
  CleanOptions sample_options;
  sample_options.sample_bytes = 2000;
  CleanCorpus sample = CleanLanguage(pages, nullptr, sample_options);
  uint64_t bytes = 0;
  for (int s = 0; s < 3; ++s) {
    for (const std::string& line : sample.splits[s]) bytes += line.size() + 1;
    ASSERT_LE(sample.splits[s].size(), full.splits[s].size());
    for (size_t i = 0; i < sample.splits[s].size(); ++i) EXPECT_EQ(sample.splits[s][i], full.splits[s][i]);
  }
  EXPECT_GE(bytes, 2000u);
  EXPECT_LT(bytes, 2000u + 200u);  // stops after the page that reaches the budget
  EXPECT_LT(sample.stats.pages_used, 200u);
}

TEST(CleanLanguageTest, PageOrderDoesNotMatter) {
  std::vector<HelpPage> pages;
  for (int i = 0; i < 50; ++i) pages.push_back({"text/q" + std::to_string(i) + ".html", {"A line with five words " + std::to_string(i % 7)}});
  CleanCorpus forward = CleanLanguage(pages, nullptr, CleanOptions{});
  std::reverse(pages.begin(), pages.end());
  CleanCorpus backward = CleanLanguage(pages, nullptr, CleanOptions{});
  EXPECT_EQ(forward.splits, backward.splits);  // duplicates resolve to the same first page
}

TEST(BuildCorpusTest, FixturePagesEndToEnd) {
  testing::TempDir tmp;
  FetchCorpusOptions options;
  options.out_dir = tmp.file("out");
  options.languages = {"el", "zh"};
  nlohmann::json packages = {{"en", {{"package", "libreoffice-help-en-us"}, {"version", "test"}, {"sha256", "x"}}}};
  auto manifest = BuildCorpusFromHelpRoot(SourceDir() + "/tests/data/fixtures/help", options, packages);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  namespace fs = std::filesystem;
  for (const char* lang : {"el", "zh"}) {
    std::string all;
    for (const char* split : {"train", "validation", "test"}) {
      fs::path file = fs::path(options.out_dir) / lang / (std::string(split) + ".txt");
      ASSERT_TRUE(fs::exists(file)) << file;
      std::string content = ::nmoe::testing::ReadWholeFile(file);
      EXPECT_EQ((*manifest)["languages"][lang]["splits"][split]["bytes"].get<uint64_t>(), content.size());
      all += content;
    }
    EXPECT_GT(all.size(), 1000u) << lang;
    EXPECT_EQ(all.find("Insert Mode\n"), std::string::npos);  // an English heading never leaks
  }
  EXPECT_FALSE(fs::exists(fs::path(options.out_dir) / "en"));  // not requested
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(fs::path(options.out_dir) / "LICENSE"), ::testing::HasSubstr("MPL-2.0"));
  // Deterministic: a second build gives the same content hash.
  testing::TempDir tmp2;
  options.out_dir = tmp2.file("out");
  auto again = BuildCorpusFromHelpRoot(SourceDir() + "/tests/data/fixtures/help", options, packages);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*manifest)["content_sha256"], (*again)["content_sha256"]);
}

TEST(BuildCorpusTest, MissingLanguageFolderIsNotFound) {
  testing::TempDir tmp;
  FetchCorpusOptions options;
  options.out_dir = tmp.file("out");
  options.languages = {"fi"};
  auto manifest = BuildCorpusFromHelpRoot(SourceDir() + "/tests/data/fixtures/help", options, nlohmann::json::object());
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(manifest.status().message()), ::testing::HasSubstr("fixtures/help/fi/text"));
}

TEST(BuildCorpusTest, UnknownLanguage) {
  auto lang = LookupCorpusLanguage("xx");
  EXPECT_EQ(lang.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(lang.status().message()), ::testing::HasSubstr("en,es,zh,de,fr,ru,ja,fi,el,hu,tr"));
}

}  // namespace
}  // namespace nmoe::data
