// The nmoe-data command as a user runs it. Needs the `corpus` fixture (corpus_fetch):
// the packages are then in the .deb cache, so these runs do not download.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/corpus/fetch_corpus.h"
#include "data/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Binary() {
  const char* b = std::getenv("NMOE_BUILD_DIR");
  return std::string(b ? b : ".") + "/data/nmoe-data";
}

std::string SourceDir() {
  const char* s = std::getenv("NMOE_SOURCE_DIR");
  return s ? s : ".";
}

std::vector<std::string> Lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

nlohmann::json Manifest(const fs::path& dir) {
  std::ifstream in(dir / "manifest.json");
  return nlohmann::json::parse(in);
}

// `small` (a smaller byte budget or the sample) must be a prefix of `big`, split by split.
void ExpectPrefix(const fs::path& small, const fs::path& big, const std::string& lang) {
  for (const char* split : {"train", "validation", "test"}) {
    auto a = Lines(small / lang / (std::string(split) + ".txt"));
    auto b = Lines(big / lang / (std::string(split) + ".txt"));
    ASSERT_LE(a.size(), b.size()) << lang << "/" << split;
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << lang << "/" << split << " line " << i + 1;
  }
}

TEST(DataCliTest, UnknownLanguageIsPrecise) {
  testing::TempDir tmp;
  auto r = RunCommand({Binary(), "fetch-corpus", "--out", tmp.file("o"), "--langs", "en,xx"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_THAT(r->err, HasSubstr("unknown corpus language 'xx' (known: en,es,zh,de,fr,ru,ja,fi,el,hu,tr)"));
}

TEST(DataCliTest, WithoutAptGetAndWithoutCacheIsPrecise) {
  testing::TempDir tmp;
  fs::create_directories(tmp.file("empty-bin"));
  fs::create_directories(tmp.file("cache"));
  auto r = RunCommand({"env", "PATH=" + tmp.file("empty-bin"), Binary(), "fetch-corpus", "--out", tmp.file("o"),
                       "--cache", tmp.file("cache"), "--langs", "el"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_THAT(r->err, HasSubstr("apt-get is not installed"));
  EXPECT_THAT(r->err, HasSubstr("no cached libreoffice-help-en-us_*.deb in " + tmp.file("cache")));
}

// A small fresh extraction is a prefix of the committed sample (same packages, same
// page order), and a second run reuses it.
TEST(DataCliTest, FreshSampleMatchesCommittedSampleAndIsReused) {
  const fs::path committed = fs::path(SourceDir()) / "tests/data/corpus";
  testing::TempDir tmp;
  auto r = RunCommand({Binary(), "fetch-corpus", "--out", tmp.file("o"), "--langs", "el,zh", "--sample-bytes",
                       "20000"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;
  EXPECT_THAT(r->err, HasSubstr("wrote"));
  nlohmann::json fresh = Manifest(tmp.file("o"));
  nlohmann::json sample = Manifest(committed);
  if (fresh["request"]["packages"]["el"] != sample["request"]["packages"]["el"]) {
    GTEST_SKIP() << "Debian's packages changed since tests/data/corpus was made; regenerate it (docs/data.md)";
  }
  for (const char* lang : {"el", "zh"}) {
    EXPECT_GE(fresh["languages"][lang]["bytes"].get<uint64_t>(), 20000u);
    ExpectPrefix(tmp.file("o"), committed, lang);
  }
  auto start = std::chrono::steady_clock::now();
  auto again = RunCommand({Binary(), "fetch-corpus", "--out", tmp.file("o"), "--langs", "el,zh", "--sample-bytes",
                           "20000"});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->exit_code, 0) << again->err;
  EXPECT_THAT(again->err, HasSubstr("up to date"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(Manifest(tmp.file("o")), fresh);
}

// The committed sample is a prefix of the full corpus built by corpus_fetch, and the
// full corpus has the sizes docs/data.md records.
TEST(DataCliTest, CommittedSampleIsPrefixOfFullCorpus) {
  const fs::path full = DefaultCorpusDir();
  const fs::path committed = fs::path(SourceDir()) / "tests/data/corpus";
  ASSERT_TRUE(fs::exists(full / "manifest.json")) << "run the corpus_fetch test first";
  nlohmann::json m = Manifest(full);
  if (m["request"]["packages"] != Manifest(committed)["request"]["packages"]) {
    GTEST_SKIP() << "Debian's packages changed since tests/data/corpus was made; regenerate it (docs/data.md)";
  }
  // Sizes in bytes measured on 4:7.4.7-1+deb12u14 (docs/data.md).
  const std::map<std::string, uint64_t> bytes = {
      {"en", 2781425}, {"es", 2664113}, {"zh", 1634674}, {"de", 3342157}, {"fr", 3304617}, {"ru", 2710707},
      {"ja", 1881310}, {"fi", 1151298}, {"el", 6071226}, {"hu", 2214406}, {"tr", 1867261}};
  for (const auto& [lang, size] : bytes) {
    EXPECT_EQ(m["languages"][lang]["bytes"].get<uint64_t>(), size) << lang;
    ExpectPrefix(committed, full, lang);
  }
}

}  // namespace
}  // namespace nmoe::data
