#include "tokenizer/bpe_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace nmoe::tokenizer {
namespace {

using ::testing::ElementsAre;

// Bytes map to ids 0..255 (id = byte value); merges create ids from 256 on.
struct Table {
  std::array<int32_t, 256> byte_ids{};
  std::vector<BpeModel::Merge> merges;
  Table() {
    for (int b = 0; b < 256; ++b) byte_ids[b] = b;
  }
  int32_t Add(int32_t left, int32_t right) {
    const int32_t id = 256 + static_cast<int32_t>(merges.size());
    merges.push_back({left, right, id});
    return id;
  }
};

std::vector<int32_t> Merge(const BpeModel& model, std::string_view word, bool heap) {
  std::vector<int32_t> ids;
  model.MergeWord(word, heap, &ids);
  return ids;
}

TEST(BpeModelTest, LowestRankFirstLeftmostAmongEquals) {
  Table t;
  const int32_t aa = t.Add('a', 'a');
  const int32_t bc = t.Add('b', 'c');
  const int32_t abc = t.Add('a', bc);  // rank 2: only after b+c
  const BpeModel model(t.byte_ids, t.merges, false, {});
  for (const bool heap : {false, true}) {
    EXPECT_THAT(Merge(model, "aaa", heap), ElementsAre(aa, 'a')) << heap;
    EXPECT_THAT(Merge(model, "aaaa", heap), ElementsAre(aa, aa)) << heap;
    EXPECT_THAT(Merge(model, "abc", heap), ElementsAre(abc)) << heap;
    EXPECT_THAT(Merge(model, "aabc", heap), ElementsAre(aa, bc)) << heap;  // a+a ranks before b+c
    EXPECT_THAT(Merge(model, "x", heap), ElementsAre('x')) << heap;
  }
}

TEST(BpeModelTest, LaterDuplicateMergeOverridesRank) {
  Table t;
  const int32_t ab = t.Add('a', 'b');
  const int32_t bc = t.Add('b', 'c');
  t.merges.push_back({'a', 'b', ab});  // (a, b) again: now rank 2, after b+c
  const BpeModel model(t.byte_ids, t.merges, false, {});
  EXPECT_THAT(Merge(model, "abc", false), ElementsAre('a', bc));
  EXPECT_THAT(Merge(model, "abc", true), ElementsAre('a', bc));
}

TEST(BpeModelTest, IgnoreMergesMapsWholeWordsInTheVocabulary) {
  Table t;
  t.Add('a', 'b');
  absl::flat_hash_map<std::string, int32_t> words = {{"abc", 999}};
  const BpeModel with(t.byte_ids, t.merges, true, words);
  const BpeModel without(t.byte_ids, t.merges, false, words);
  std::vector<int32_t> ids;
  with.Encode("abc", &ids);
  EXPECT_THAT(ids, ElementsAre(999));
  ids.clear();
  without.Encode("abc", &ids);
  EXPECT_THAT(ids, ElementsAre(256, 'c'));
}

// The O(n^2) and heap paths agree on random words and merge tables, and the
// cached Encode gives the same ids on repeats.
TEST(BpeModelTest, SmallAndHeapPathsAgree) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    Table t;
    std::vector<int32_t> tokens = {'a', 'b', 'c', 'd'};
    for (int m = 0; m < 60; ++m) {
      const int32_t l = tokens[rng() % tokens.size()];
      const int32_t r = tokens[rng() % tokens.size()];
      tokens.push_back(t.Add(l, r));
    }
    const BpeModel model(t.byte_ids, t.merges, false, {}, /*cache_words=*/64);
    for (int w = 0; w < 50; ++w) {
      std::string word;
      const size_t len = 1 + rng() % 300;
      for (size_t i = 0; i < len; ++i) word.push_back(static_cast<char>('a' + rng() % 4));
      const std::vector<int32_t> small = Merge(model, word, false);
      ASSERT_EQ(small, Merge(model, word, true)) << word;
      for (int repeat = 0; repeat < 2; ++repeat) {
        std::vector<int32_t> ids;
        model.Encode(word, &ids);
        ASSERT_EQ(ids, small);
      }
    }
  }
}

}  // namespace
}  // namespace nmoe::tokenizer
