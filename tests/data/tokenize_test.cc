#include "data/tokenize.h"

#include <fstream>

#include "data/token_shard.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

// One id per UTF-8 byte: a complete (if simple) byte-level tokenizer with vocab 256.
std::vector<int32_t> Bytes(std::string_view s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s) ids.push_back(c);
  return ids;
}

TEST(TokenizeTest, ShardsFollowTheTokenBudget) {
  testing::TempDir tmp;
  std::ofstream(tmp.file("a.txt")) << "abc\n\ndefgh\nij\n";
  std::ofstream(tmp.file("b.jsonl")) << "{\"text\": \"klmno\"}\n{\"text\": \"\"}\n";
  ShardBuildOptions o;
  o.vocab_size = 256;
  o.max_tokens_per_shard = 6;
  o.out_prefix = tmp.file("out/train");
  std::filesystem::create_directories(tmp.file("out"));
  auto r = TokenizeToShards({tmp.file("a.txt"), tmp.file("b.jsonl")}, TextFormat::kAuto, Bytes, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->documents, 5u);  // the empty JSONL text is kept as an empty document
  EXPECT_EQ(r->tokens, 15u);
  // abc+defgh = 8 >= 6 -> shard 0; ij+klmno = 7 -> shard 1; "" -> shard 2.
  ASSERT_THAT(r->shards, ::testing::ElementsAre(tmp.file("out/train-00000.tok"), tmp.file("out/train-00001.tok"),
                                                tmp.file("out/train-00002.tok")));
  auto s0 = TokenShard::Open(r->shards[0]);
  ASSERT_TRUE(s0.ok());
  EXPECT_EQ((*s0)->num_documents(), 2u);
  EXPECT_EQ((*s0)->Document(1), Bytes("defgh"));
  auto s2 = TokenShard::Open(r->shards[2]);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ((*s2)->num_documents(), 1u);
  EXPECT_EQ((*s2)->num_tokens(), 0u);
}

TEST(TokenizeTest, ErrorsNameInputAndLine) {
  testing::TempDir tmp;
  std::ofstream(tmp.file("c.jsonl")) << "{\"text\": \"ok\"}\n{\"txt\": \"bad\"}\n";
  ShardBuildOptions o;
  o.vocab_size = 256;
  o.out_prefix = tmp.file("c");
  auto r = TokenizeToShards({tmp.file("c.jsonl")}, TextFormat::kAuto, Bytes, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("c.jsonl:2: missing field \"text\""));
  // An encoder producing ids beyond the vocabulary.
  std::ofstream(tmp.file("d.txt")) << "x\n\xc3\xa9\n";
  o.vocab_size = 128;
  o.out_prefix = tmp.file("d");
  r = TokenizeToShards({tmp.file("d.txt")}, TextFormat::kPlain, Bytes, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("d.txt:2: "));
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("has id 195 outside [0, 128)"));
}

}  // namespace
}  // namespace nmoe::data
