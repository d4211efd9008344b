// The BPE model of a byte-level tokenizer: a pre-token's bytes start as one
// symbol per byte and adjacent symbols are merged, lowest merge rank first
// (leftmost among equal ranks), until no pair of neighbours has a merge. This
// is the merge order of Hugging Face's BPE (and of the JS reference).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace nmoe::tokenizer {

class WordCache;

class BpeModel {
 public:
  struct Merge {
    int32_t left = 0;
    int32_t right = 0;
    int32_t result = 0;
  };

  // `byte_ids[b]`: the id of the one-byte token for byte b. `merges` in rank
  // order (a later duplicate of a pair overrides the earlier rank, as in HF).
  // With `ignore_merges`, a pre-token that is itself in `word_ids` (keys are
  // the tokens' bytes) maps to that one id without merging (Llama-3).
  // `cache_words`: how many distinct pre-tokens to remember (0 = no cache).
  BpeModel(const std::array<int32_t, 256>& byte_ids, std::span<const Merge> merges,
           bool ignore_merges, absl::flat_hash_map<std::string, int32_t> word_ids,
           size_t cache_words = 1 << 18);
  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;
  ~BpeModel();

  // Appends the ids of pre-token `word` (raw bytes, non-empty). Thread-safe.
  void Encode(std::string_view word, std::vector<int32_t>* ids) const;

  // The merge algorithm without cache or ignore_merges; `use_heap` picks the
  // O(n log n) path that Encode uses for long words (exposed for tests).
  void MergeWord(std::string_view word, bool use_heap, std::vector<int32_t>* ids) const;

  size_t num_merges() const { return ranks_.size(); }

 private:
  // (rank, result) of the merge of the pair, or rank -1.
  struct RankResult {
    int32_t rank = -1;
    int32_t result = -1;
  };
  RankResult Lookup(int32_t left, int32_t right) const {
    const auto it = ranks_.find((static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
                                static_cast<uint32_t>(right));
    return it == ranks_.end() ? RankResult{} : it->second;
  }
  void MergeSmall(std::string_view word, std::vector<int32_t>* ids) const;
  void MergeHeap(std::string_view word, std::vector<int32_t>* ids) const;

  std::array<int32_t, 256> byte_ids_{};
  absl::flat_hash_map<uint64_t, RankResult> ranks_;
  bool ignore_merges_ = false;
  absl::flat_hash_map<std::string, int32_t> word_ids_;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace nmoe::tokenizer
