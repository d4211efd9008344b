// The nmoe-data command as a user runs it. Needs the `corpus` fixture (corpus_fetch):
// the packages are then in the .deb cache, so these runs do not download.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/corpus/fetch_corpus.h"
#include "data/sentences.h"
#include "data/shard_set.h"
#include "data/token_shard.h"
#include "data/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;

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

// Without apt-get (PATH holds only dpkg and dpkg-deb), the packages already in the
// default .deb cache are used.
TEST(DataCliTest, OfflineFromCachedPackages) {
  testing::TempDir tmp;
  fs::create_directories(tmp.file("bin"));
  for (const char* tool : {"dpkg", "dpkg-deb"}) {
    auto where = FindProgram(tool);
    ASSERT_TRUE(where.ok()) << where.status();
    fs::create_symlink(*where, tmp.file(std::string("bin/") + tool));
  }
  auto r = RunCommand({"env", "PATH=" + tmp.file("bin"), Binary(), "fetch-corpus", "--out", tmp.file("o"), "--langs",
                       "hu", "--sample-bytes", "10000", "--cache", DefaultCacheRoot() + "/debs"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;
  EXPECT_THAT(r->err, HasSubstr("apt-get not found: using the .deb files already in the cache"));
  nlohmann::json m = Manifest(tmp.file("o"));
  if (m["languages"]["hu"]["package"] == Manifest(fs::path(SourceDir()) / "tests/data/corpus")["languages"]["hu"]["package"]) {
    ExpectPrefix(tmp.file("o"), fs::path(SourceDir()) / "tests/data/corpus", "hu");
  }
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
  if (fresh["languages"]["el"]["package"] != sample["languages"]["el"]["package"]) {
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
  // A third language joins the folder; the first two stay, unchanged.
  auto more = RunCommand({Binary(), "fetch-corpus", "--out", tmp.file("o"), "--langs", "zh,fi", "--sample-bytes",
                          "20000"});
  ASSERT_TRUE(more.ok());
  ASSERT_EQ(more->exit_code, 0) << more->err;
  EXPECT_THAT(more->err, HasSubstr("zh: up to date"));
  EXPECT_THAT(more->err, ::testing::Not(HasSubstr("reading libreoffice-help-el")));
  nlohmann::json merged = Manifest(tmp.file("o"));
  EXPECT_EQ(merged["languages"]["el"], fresh["languages"]["el"]);
  EXPECT_EQ(merged["languages"]["zh"], fresh["languages"]["zh"]);
  EXPECT_TRUE(merged["languages"].contains("fi"));
  ExpectPrefix(tmp.file("o"), committed, "fi");
}

// The committed sample is a prefix of the full corpus built by corpus_fetch, and the
// full corpus has the sizes docs/data.md records.
TEST(DataCliTest, CommittedSampleIsPrefixOfFullCorpus) {
  const fs::path full = DefaultCorpusDir();
  const fs::path committed = fs::path(SourceDir()) / "tests/data/corpus";
  ASSERT_TRUE(fs::exists(full / "manifest.json")) << "run the corpus_fetch test first";
  nlohmann::json m = Manifest(full);
  nlohmann::json sample = Manifest(committed);
  for (const auto& [lang, entry] : sample["languages"].items()) {
    if (m["languages"][lang]["package"] != entry["package"]) {
      GTEST_SKIP() << "Debian's packages changed since tests/data/corpus was made; regenerate it (docs/data.md)";
    }
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

// A real tokenizer.json (Hugging Face format) with the byte-level alphabet and no
// merges: token id b for byte b, so every shard can be checked byte by byte.
std::string WriteByteTokenizer(const testing::TempDir& tmp) {
  std::vector<uint32_t> cps(256);
  uint32_t extra = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cps[b] = printable ? b : extra++;
  }
  json vocab = json::object();
  for (uint32_t b = 0; b < 256; ++b) {
    std::string token;
    uint32_t cp = cps[b];
    if (cp < 0x80) {
      token.push_back(static_cast<char>(cp));
    } else {
      token.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      token.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab[token] = b;
  }
  auto added = [](int id, const char* content) {
    return json{{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                {"normalized", false}, {"special", true}};
  };
  json tok = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
              {"added_tokens", {added(256, "<|begin_of_text|>"), added(257, "<|end_of_text|>")}},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                 {"use_regex", true}}},
              {"post_processor", nullptr},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                           {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                         {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                         {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                         {"merges", json::array()}}}};
  std::string path = tmp.file("tokenizer.json");
  std::ofstream(path) << tok.dump();
  return path;
}

TEST(DataCliTest, BuildShardsAndSentencesWithATokenizer) {
  testing::TempDir tmp;
  const std::string corpus = SourceDir() + "/tests/data/corpus";
  const std::string tokenizer = WriteByteTokenizer(tmp);
  auto r = RunCommand({Binary(), "build-shards", "--corpus", corpus, "--langs", "el,zh", "--splits",
                       "train,validation", "--tokenizer", tokenizer, "--out", tmp.file("shards")});
  ASSERT_TRUE(r.ok());
  if (r->exit_code != 0 && r->err.find("built without nmoe::tokenizer") != std::string::npos) {
    GTEST_SKIP() << r->err;
  }
  ASSERT_EQ(r->exit_code, 0) << r->err;
  std::ifstream in(tmp.file("shards/index.json"));
  json index = json::parse(in);
  EXPECT_EQ(index["tokenizer"]["vocab_size"], 258);
  EXPECT_EQ(index["tokenizer"]["bos_id"], 256);
  for (const char* lang : {"el", "zh"}) {
    for (const char* split : {"train", "validation"}) {
      auto lines = Lines(fs::path(corpus) / lang / (std::string(split) + ".txt"));
      auto paths = ShardPathsFromIndex(tmp.file("shards"), lang, split);
      ASSERT_TRUE(paths.ok()) << paths.status();
      ASSERT_EQ(paths->size(), 1u);
      auto shards = OpenShards(*paths);
      ASSERT_TRUE(shards.ok()) << shards.status();
      const TokenShard* shard = &*(*shards)[0];
      EXPECT_EQ(shard->token_bytes(), 2u);
      ASSERT_EQ(shard->num_documents(), lines.size());
      for (size_t d = 0; d < lines.size(); ++d) {
        std::vector<int32_t> expected(lines[d].begin(), lines[d].end());
        for (int32_t& id : expected) id &= 0xFF;
        ASSERT_EQ(shard->Document(d), expected) << lang << "/" << split << " line " << d + 1;
      }
    }
  }
  EXPECT_EQ(ShardPathsFromIndex(tmp.file("shards"), "fi", "train").status().code(), absl::StatusCode::kNotFound);
  // Profiling sentences with the token filter: at most 80 ids (= bytes) each.
  auto s = RunCommand({Binary(), "sentences", "--corpus", corpus, "--split", "train", "--langs", "el,zh,en",
                       "--count", "40", "--tokenizer", tokenizer, "--max-tokens", "80", "--seed", "7", "--out",
                       tmp.file("sentences.jsonl")});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->exit_code, 0) << s->err;
  auto set = ReadSentenceSet(tmp.file("sentences.jsonl"));
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->size(), 120u);
  EXPECT_EQ((*set)[0].lang, "el");
  EXPECT_EQ((*set)[119].lang, "en");
  for (const LabeledSentence& x : *set) EXPECT_LE(x.text.size(), 80u) << x.text;
}

}  // namespace
}  // namespace nmoe::data
