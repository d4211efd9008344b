// The merge-learning loop of BPE training over weighted words, with
// incremental pair counts: each merge only touches the words that hold the
// merged pair, and a lazy max-heap finds the next pair.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nmoe::tokenizer {

struct LearnedBpe {
  std::vector<std::string> tokens;                   // id -> the token's bytes
  std::vector<std::pair<int32_t, int32_t>> merges;  // (left id, right id), in rank order
};

// `words`: distinct pre-tokens (raw bytes) with their counts. Token ids
// 0..255 are the single bytes in `byte_order` (id i is byte byte_order[i]).
// Merges until there are `max_tokens` tokens or the best pair has a count
// below `min_frequency`. The best pair: the highest count, then the smallest
// (left id, right id). A merge whose bytes equal an existing token reuses it
// (that merge adds no token).
LearnedBpe LearnMerges(const std::vector<std::pair<std::string, int64_t>>& words,
                       const std::array<uint8_t, 256>& byte_order, int32_t max_tokens,
                       int64_t min_frequency);

}  // namespace nmoe::tokenizer
