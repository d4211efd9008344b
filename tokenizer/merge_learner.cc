#include "tokenizer/merge_learner.h"

#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace nmoe::tokenizer {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int32_t LeftOf(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t RightOf(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

struct Candidate {
  int64_t count;
  uint64_t pair;
  // priority_queue pops the largest: higher count, then the smaller pair.
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

class Learner {
 public:
  Learner(const std::vector<std::pair<std::string, int64_t>>& words, const std::array<uint8_t, 256>& byte_order) {
    std::array<int32_t, 256> byte_id{};
    for (int i = 0; i < 256; ++i) {
      byte_id[byte_order[i]] = i;
      result_.tokens.emplace_back(1, static_cast<char>(byte_order[i]));
      token_ids_.emplace(result_.tokens.back(), i);
    }
    words_.reserve(words.size());
    for (const auto& [bytes, count] : words) {
      Word w{{}, count};
      w.symbols.reserve(bytes.size());
      for (const char c : bytes) w.symbols.push_back(byte_id[static_cast<uint8_t>(c)]);
      words_.push_back(std::move(w));
    }
    for (size_t w = 0; w < words_.size(); ++w) {
      const Word& word = words_[w];
      for (size_t j = 0; j + 1 < word.symbols.size(); ++j) {
        const uint64_t key = PairKey(word.symbols[j], word.symbols[j + 1]);
        counts_[key] += word.count;
        AddWhere(key, static_cast<int32_t>(w));
      }
    }
    for (const auto& [key, count] : counts_) heap_.push({count, key});
    seen_.assign(words_.size(), -1);
  }

  LearnedBpe Run(int32_t max_tokens, int64_t min_frequency) {
    while (static_cast<int32_t>(result_.tokens.size()) < max_tokens && !heap_.empty()) {
      const Candidate top = heap_.top();
      heap_.pop();
      const auto it = counts_.find(top.pair);
      const int64_t current = it == counts_.end() ? 0 : it->second;
      if (current != top.count) {  // stale (counts only fall): requeue at its count
        if (current > 0) heap_.push({current, top.pair});
        continue;
      }
      if (current < min_frequency || current <= 0) break;
      Merge(top.pair);
    }
    return std::move(result_);
  }

 private:
  void AddWhere(uint64_t key, int32_t w) {
    std::vector<int32_t>& list = where_[key];
    if (list.empty() || list.back() != w) list.push_back(w);
  }

  void Merge(uint64_t pair) {
    const int32_t a = LeftOf(pair);
    const int32_t b = RightOf(pair);
    std::string bytes = result_.tokens[a] + result_.tokens[b];
    int32_t x;
    if (const auto found = token_ids_.find(bytes); found != token_ids_.end()) {
      x = found->second;
    } else {
      x = static_cast<int32_t>(result_.tokens.size());
      result_.tokens.push_back(bytes);
      token_ids_.emplace(std::move(bytes), x);
    }
    result_.merges.emplace_back(a, b);
    const int32_t step = static_cast<int32_t>(result_.merges.size());

    std::vector<int32_t> holders;
    if (auto node = where_.extract(pair); !node.empty()) holders = std::move(node.mapped());
    absl::flat_hash_set<uint64_t> increased;
    std::vector<int32_t> merged_syms;
    std::vector<bool> old_in_merge;
    std::vector<bool> new_is_merged;
    for (const int32_t w : holders) {
      if (seen_[w] == step) continue;
      seen_[w] = step;
      Word& word = words_[w];
      const std::vector<int32_t>& old = word.symbols;
      const size_t n = old.size();
      merged_syms.clear();
      new_is_merged.clear();
      old_in_merge.assign(n, false);
      bool any = false;
      for (size_t i = 0; i < n;) {
        if (i + 1 < n && old[i] == a && old[i + 1] == b) {
          merged_syms.push_back(x);
          new_is_merged.push_back(true);
          old_in_merge[i] = old_in_merge[i + 1] = true;
          any = true;
          i += 2;
        } else {
          merged_syms.push_back(old[i]);
          new_is_merged.push_back(false);
          ++i;
        }
      }
      if (!any) continue;
      // Pairs touching a merged position disappear; pairs touching a new
      // symbol appear; every other pair is unchanged.
      for (size_t j = 0; j + 1 < n; ++j) {
        if (old_in_merge[j] || old_in_merge[j + 1]) counts_[PairKey(old[j], old[j + 1])] -= word.count;
      }
      for (size_t k = 0; k + 1 < merged_syms.size(); ++k) {
        if (new_is_merged[k] || new_is_merged[k + 1]) {
          const uint64_t key = PairKey(merged_syms[k], merged_syms[k + 1]);
          counts_[key] += word.count;
          AddWhere(key, w);
          increased.insert(key);
        }
      }
      word.symbols.swap(merged_syms);
    }
    counts_.erase(pair);
    // Deterministic push order is not needed: the heap orders by (count, pair).
    for (const uint64_t key : increased) heap_.push({counts_[key], key});
  }

  std::vector<Word> words_;
  absl::flat_hash_map<uint64_t, int64_t> counts_;
  absl::flat_hash_map<uint64_t, std::vector<int32_t>> where_;
  std::priority_queue<Candidate> heap_;
  std::vector<int32_t> seen_;  // per word: the merge step that last touched it
  absl::flat_hash_map<std::string, int32_t> token_ids_;
  LearnedBpe result_;
};

}  // namespace

LearnedBpe LearnMerges(const std::vector<std::pair<std::string, int64_t>>& words,
                       const std::array<uint8_t, 256>& byte_order, int32_t max_tokens,
                       int64_t min_frequency) {
  Learner learner(words, byte_order);
  return learner.Run(max_tokens, min_frequency);
}

}  // namespace nmoe::tokenizer
