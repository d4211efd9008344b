#include "data/packing.h"

#include <set>

#include "data/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

using ::testing::ElementsAre;

std::shared_ptr<const TokenShard> MakeShard(const testing::TempDir& tmp, const std::string& name,
                                            const std::vector<std::vector<int32_t>>& docs, uint64_t vocab = 100) {
  auto w = TokenShardWriter::Create(tmp.file(name), vocab);
  EXPECT_TRUE(w.ok());
  for (const auto& d : docs) EXPECT_TRUE((*w)->AddDocument(d).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  auto shard = TokenShard::Open(tmp.file(name));
  EXPECT_TRUE(shard.ok()) << shard.status();
  return std::shared_ptr<const TokenShard>(std::move(*shard));
}

std::shared_ptr<const TokenShard> RandomShard(const testing::TempDir& tmp, const std::string& name, int docs,
                                              uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<std::vector<int32_t>> d(static_cast<size_t>(docs));
  for (auto& doc : d) {
    doc.resize(rng.Below(40));
    for (auto& t : doc) t = static_cast<int32_t>(3 + rng.Below(97));
  }
  return MakeShard(tmp, name, d);
}

// Worked by hand: stream [1,10,11,12,2, 1,20,21,2, 1,30,2] (12 tokens), seq_len 3.
TEST(PackingTest, HandWorkedWindowsAndMask) {
  testing::TempDir tmp;
  auto a = MakeShard(tmp, "a.tok", {{10, 11, 12}, {20, 21}});
  auto b = MakeShard(tmp, "b.tok", {{30}});
  PackingOptions o;
  o.seq_len = 3;
  o.bos_id = 1;
  o.eos_id = 2;
  o.shuffle = false;
  auto loader = PackedLoader::Create({a, b}, o);
  ASSERT_TRUE(loader.ok()) << loader.status();
  EXPECT_EQ((*loader)->stream_length(), 12u);
  EXPECT_EQ((*loader)->num_windows(), 3u);  // (12 - 1) / 3
  PackedSequence w0 = (*loader)->Next(), w1 = (*loader)->Next(), w2 = (*loader)->Next();
  EXPECT_THAT(w0.tokens, ElementsAre(1, 10, 11, 12));
  EXPECT_THAT(w0.loss_mask, ElementsAre(1, 1, 1));
  EXPECT_THAT(w1.tokens, ElementsAre(12, 2, 1, 20));
  EXPECT_THAT(w1.loss_mask, ElementsAre(1, 0, 1));  // predicting the next document's BOS is masked
  EXPECT_THAT(w2.tokens, ElementsAre(20, 21, 2, 1));
  EXPECT_THAT(w2.loss_mask, ElementsAre(1, 1, 0));
  // Input tokens' shards: stream positions 0-8 are a.tok's, 9-11 b.tok's.
  EXPECT_THAT(w0.shard, ElementsAre(0, 0, 0));
  EXPECT_THAT(w2.shard, ElementsAre(0, 0, 0));
  EXPECT_THAT((*loader)->Window(2).shard, ElementsAre(0, 0, 0));
  o.seq_len = 2;  // windows [6,9): positions 6,7 -> a; [8,11): 8 -> a, 9 -> b
  auto two = PackedLoader::Create({a, b}, o);
  ASSERT_TRUE(two.ok());
  EXPECT_THAT((*two)->Window(3).shard, ElementsAre(0, 0));
  EXPECT_THAT((*two)->Window(4).shard, ElementsAre(0, 1));
  EXPECT_EQ((*loader)->Next().window, 0u);  // next epoch, same order without shuffling
  EXPECT_EQ((*loader)->Position().epoch, 1u);
}

TEST(PackingTest, NoSeparators) {
  testing::TempDir tmp;
  auto a = MakeShard(tmp, "a.tok", {{10, 11}, {}, {12, 13, 14}});
  PackingOptions o;
  o.seq_len = 2;
  o.shuffle = false;
  auto loader = PackedLoader::Create({a}, o);
  ASSERT_TRUE(loader.ok());
  EXPECT_EQ((*loader)->num_windows(), 2u);  // stream of 5: (5 - 1) / 2
  EXPECT_THAT((*loader)->Window(0).tokens, ElementsAre(10, 11, 12));
  EXPECT_THAT((*loader)->Window(1).tokens, ElementsAre(12, 13, 14));
  EXPECT_THAT((*loader)->Window(1).loss_mask, ElementsAre(1, 1));
}

TEST(PackingTest, ShuffledEpochIsAPermutationAndSeeded) {
  testing::TempDir tmp;
  auto s = RandomShard(tmp, "r.tok", 300, 7);
  PackingOptions o;
  o.seq_len = 16;
  o.bos_id = 1;
  o.seed = 1234;
  auto a = PackedLoader::Create({s}, o);
  auto b = PackedLoader::Create({s}, o);
  o.seed = 1235;
  auto c = PackedLoader::Create({s}, o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  const uint64_t n = (*a)->num_windows();
  ASSERT_GT(n, 100u);
  std::vector<uint64_t> epoch0, epoch1, other;
  for (uint64_t i = 0; i < n; ++i) {
    PackedSequence x = (*a)->Next();
    PackedSequence y = (*b)->Next();
    EXPECT_EQ(x.tokens, y.tokens);
    EXPECT_EQ(x.tokens, (*a)->Window(x.window).tokens);
    epoch0.push_back(x.window);
    other.push_back((*c)->Next().window);
  }
  for (uint64_t i = 0; i < n; ++i) epoch1.push_back((*a)->Next().window);
  EXPECT_EQ(std::set<uint64_t>(epoch0.begin(), epoch0.end()).size(), n);
  EXPECT_EQ(std::set<uint64_t>(epoch1.begin(), epoch1.end()).size(), n);
  EXPECT_NE(epoch0, epoch1);  // a new permutation each epoch
  EXPECT_NE(epoch0, other);   // another seed, another order
}

TEST(PackingTest, RanksAreDisjointAndEqualSized) {
  testing::TempDir tmp;
  auto s1 = RandomShard(tmp, "r1.tok", 200, 1);
  auto s2 = RandomShard(tmp, "r2.tok", 150, 2);
  const int world = 3;
  std::set<uint64_t> all;
  uint64_t per_rank = 0;
  for (int r = 0; r < world; ++r) {
    PackingOptions o;
    o.seq_len = 32;
    o.eos_id = 2;
    o.seed = 9;
    o.rank = r;
    o.world_size = world;
    auto loader = PackedLoader::Create({s1, s2}, o);
    ASSERT_TRUE(loader.ok()) << loader.status();
    per_rank = (*loader)->windows_per_rank();
    EXPECT_EQ(per_rank, (*loader)->num_windows() / world);
    for (uint64_t i = 0; i < per_rank; ++i) {
      EXPECT_TRUE(all.insert((*loader)->Next().window).second) << "rank " << r << " repeats a window";
    }
  }
  EXPECT_EQ(all.size(), per_rank * world);
}

TEST(PackingTest, ResumeContinuesExactly) {
  testing::TempDir tmp;
  auto s = RandomShard(tmp, "r.tok", 120, 3);
  PackingOptions o;
  o.seq_len = 24;
  o.bos_id = 1;
  o.eos_id = 2;
  o.seed = 5;
  o.rank = 1;
  o.world_size = 2;
  auto a = PackedLoader::Create({s}, o);
  ASSERT_TRUE(a.ok());
  const uint64_t per_rank = (*a)->windows_per_rank();
  for (uint64_t i = 0; i < per_rank - 2; ++i) (*a)->Next();  // stop two before the epoch ends
  const std::string saved = (*a)->Position().ToString();
  std::vector<PackedSequence> expected;
  for (int i = 0; i < 10; ++i) expected.push_back((*a)->Next());  // crosses into epoch 1

  auto b = PackedLoader::Create({s}, o);
  ASSERT_TRUE(b.ok());
  auto position = LoaderPosition::FromString(saved);
  ASSERT_TRUE(position.ok());
  ASSERT_TRUE((*b)->Seek(*position).ok());
  for (const PackedSequence& e : expected) {
    PackedSequence got = (*b)->Next();
    EXPECT_EQ(got.window, e.window);
    EXPECT_EQ(got.tokens, e.tokens);
    EXPECT_EQ(got.loss_mask, e.loss_mask);
  }
  EXPECT_EQ((*a)->Position(), (*b)->Position());

  o.seed = 6;  // other options: the saved position does not apply
  auto c = PackedLoader::Create({s}, o);
  EXPECT_EQ((*c)->Seek(*position).code(), absl::StatusCode::kFailedPrecondition);
  LoaderPosition too_far = *position;
  too_far.next = per_rank + 1;
  EXPECT_EQ((*b)->Seek(too_far).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(LoaderPosition::FromString("1:2").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PackingTest, InvalidOptions) {
  testing::TempDir tmp;
  auto s = MakeShard(tmp, "a.tok", {{10, 11, 12, 13}});
  PackingOptions o;
  o.seq_len = 2;
  o.rank = 2;
  o.world_size = 2;
  EXPECT_EQ(PackedLoader::Create({s}, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.rank = 0;
  o.bos_id = 100;  // vocabulary is 100
  EXPECT_EQ(PackedLoader::Create({s}, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.bos_id.reset();
  o.seq_len = 4;  // 4 tokens: no window of 5
  auto r = PackedLoader::Create({s}, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("the stream holds 4 tokens"));
}

TEST(RngTest, KnownSplitMix64Values) {
  // Reference values of SplitMix64 seeded with 0 (as in the reference implementation).
  SplitMix64 r(0);
  EXPECT_EQ(r.Next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(r.Next(), 0x6e789e6aa1b965f4ull);
  SplitMix64 b(1);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(b.Below(7), 7u);
}

}  // namespace
}  // namespace nmoe::data
