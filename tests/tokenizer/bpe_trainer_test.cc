#include "tokenizer/bpe_trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Train(const BpeTrainerOptions& options, const std::vector<std::string>& lines,
                  BpeTrainerStats* stats = nullptr) {
  absl::StatusOr<BpeTrainer> trainer = BpeTrainer::Create(options);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  for (const std::string& line : lines) trainer->AddText(line);
  absl::StatusOr<std::string> json = trainer->Train(stats);
  EXPECT_TRUE(json.ok()) << json.status();
  return *json;
}

std::vector<std::string> Corpus() {
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) {
    lines.push_back("the cat sat on the mat, the dog sat on the log " + std::to_string(i));
    lines.push_back("Η γάτα κάθεται στο χαλί. 猫はマットの上に座った。 <|end_of_text|>");
  }
  return lines;
}

std::string Bl(const std::string& bytes) { return BytesToByteLevel(bytes); }

TEST(BpeTrainerTest, LearnsTheMostFrequentPairsFirstWithDeterministicTies) {
  BpeTrainerOptions options;
  options.vocab_size = 256 + 3 + 3;
  options.min_frequency = 1;
  // Pre-tokens: "ab" x3, "abc" x2 (counts: a+b 5, b+c 2), then "ab"+"c" 2.
  const std::string json = Train(options, {"ab ab ab", "abc abc"});
  const auto j = nlohmann::json::parse(json);
  const auto& merges = j["model"]["merges"];
  ASSERT_EQ(merges.size(), 3u);
  EXPECT_EQ(merges[0], "a b");            // 5 times
  EXPECT_EQ(merges[1], Bl(" ") + " ab");  // 3 times
  // ab+c and " ab"+c once each: the smaller ids (ab = 256 < " ab" = 257) win.
  EXPECT_EQ(merges[2], "ab c");
  EXPECT_EQ(j["model"]["vocab"].size(), 256u + 3u);
  EXPECT_EQ(j["added_tokens"].size(), 3u);
  EXPECT_EQ(j["added_tokens"][0]["id"], 259);
  EXPECT_EQ(j["added_tokens"][0]["content"], "<|begin_of_text|>");
  EXPECT_EQ(Train(options, {"ab ab ab", "abc abc"}), json);  // deterministic
}

TEST(BpeTrainerTest, TiesGoToTheSmallerPairIds) {
  BpeTrainerOptions options;
  options.vocab_size = 256 + 1 + 3;
  options.min_frequency = 1;
  // "xy" and "ab" once each: equal counts; 'a' (id of 'a') < 'x'.
  const auto j = nlohmann::json::parse(Train(options, {"xy", "ab"}));
  EXPECT_EQ(j["model"]["merges"][0], "a b");
}

TEST(BpeTrainerTest, MinFrequencyStopsEarlyAndIdsStayDense) {
  BpeTrainerOptions options;
  options.vocab_size = 4096;
  options.min_frequency = 3;
  BpeTrainerStats stats;
  const auto j = nlohmann::json::parse(Train(options, {"ab ab", "cd cd cd"}, &stats));
  EXPECT_EQ(stats.merges, 1);  // only c+d reaches 3
  EXPECT_EQ(j["model"]["merges"][0], "c d");
  EXPECT_EQ(stats.vocab_size, 257 + 3);
  EXPECT_EQ(j["added_tokens"][2]["id"], 259);
}

TEST(BpeTrainerTest, TrainedFileLoadsEncodesAndRoundTrips) {
  BpeTrainerOptions options;
  options.vocab_size = 320;  // the corpus has pairs for ~75 merges
  BpeTrainerStats stats;
  const std::string json = Train(options, Corpus(), &stats);
  EXPECT_EQ(stats.vocab_size, 320);
  EXPECT_EQ(stats.merges, 320 - 256 - 3);
  absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(json);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->vocab_size(), 320);
  EXPECT_EQ(t->bos_id(), 317);
  EXPECT_EQ(t->eos_id(), 318);
  EXPECT_EQ(t->TokenToId("<|pad|>"), 319);
  ASSERT_TRUE(t->TokenToId(Bl(" the")));  // frequent words became tokens
  EXPECT_THAT(t->Encode("the cat", true), ElementsAre(317, *t->TokenToId(Bl("the")), *t->TokenToId(Bl(" cat"))));
  for (const std::string& line : Corpus()) EXPECT_EQ(*t->Decode(t->Encode(line)), line);
  // Special tokens in the training text are matched, not learned from.
  EXPECT_FALSE(t->TokenToId(Bl("<|")));
}

TEST(BpeTrainerTest, NfcOption) {
  BpeTrainerOptions options;
  options.vocab_size = 300;
  options.nfc = true;
  const std::string json = Train(options, {"e\xCC\x81t\xC3\xA9 \xC3\xA9t\xC3\xA9"});
  EXPECT_EQ(nlohmann::json::parse(json)["normalizer"]["type"], "NFC");
  absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(json);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Encode("e\xCC\x81t\xC3\xA9"), t->Encode("\xC3\xA9t\xC3\xA9"));
}

TEST(BpeTrainerTest, BadOptions) {
  BpeTrainerOptions small;
  small.vocab_size = 258;
  EXPECT_THAT(std::string(BpeTrainer::Create(small).status().message()), HasSubstr("below 256 byte tokens + 3"));
  BpeTrainerOptions dup;
  dup.special_tokens = {"<a>", "<a>"};
  dup.bos_token = "<a>";
  EXPECT_THAT(std::string(BpeTrainer::Create(dup).status().message()), HasSubstr("listed twice"));
  BpeTrainerOptions bos;
  bos.bos_token = "<s>";
  EXPECT_THAT(std::string(BpeTrainer::Create(bos).status().message()), HasSubstr("not one of the special tokens"));
  BpeTrainerOptions regex;
  regex.split_regex = "(";
  EXPECT_EQ(BpeTrainer::Create(regex).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nmoe::tokenizer
