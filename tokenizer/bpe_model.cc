#include "tokenizer/bpe_model.h"

#include <limits>
#include <mutex>
#include <queue>
#include <shared_mutex>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace nmoe::tokenizer {

// Pre-token bytes -> ids, sharded so that concurrent Encode calls rarely
// contend. A full shard is cleared (pre-token frequencies are Zipfian: the
// frequent ones come back at once).
class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 64;  // longer words are not cached

  explicit WordCache(size_t capacity) : per_shard_(capacity / kShards + 1) {}

  bool Lookup(std::string_view word, std::vector<int32_t>* ids) const {
    const Shard& shard = ShardOf(word);
    std::shared_lock lock(shard.mu);
    const auto it = shard.map.find(absl::string_view(word.data(), word.size()));
    if (it == shard.map.end()) return false;
    ids->insert(ids->end(), it->second.begin(), it->second.end());
    return true;
  }

  void Insert(std::string_view word, std::span<const int32_t> ids) {
    Shard& shard = ShardOf(word);
    std::unique_lock lock(shard.mu);
    if (shard.map.size() >= per_shard_) shard.map.clear();
    shard.map.try_emplace(std::string(word), ids.begin(), ids.end());
  }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::shared_mutex mu;  // not absl::Mutex: Debian's abseil checks for deadlocks on every lock
    absl::flat_hash_map<std::string, absl::InlinedVector<int32_t, 3>> map;
  };
  // A cheap spread over shards (the shard's map hashes the word properly).
  Shard& ShardOf(std::string_view word) const {
    const auto first = static_cast<uint8_t>(word.front());
    const auto last = static_cast<uint8_t>(word.back());
    return shards_[(word.size() * 7 + first * 13 + last) % kShards];
  }
  size_t per_shard_;
  mutable Shard shards_[kShards];
};

BpeModel::BpeModel(const std::array<int32_t, 256>& byte_ids, std::span<const Merge> merges,
                   bool ignore_merges, absl::flat_hash_map<std::string, int32_t> word_ids,
                   size_t cache_words)
    : byte_ids_(byte_ids), ignore_merges_(ignore_merges), word_ids_(std::move(word_ids)) {
  ranks_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Merge& m = merges[rank];
    const uint64_t key =
        (static_cast<uint64_t>(static_cast<uint32_t>(m.left)) << 32) | static_cast<uint32_t>(m.right);
    ranks_.insert_or_assign(key, RankResult{static_cast<int32_t>(rank), m.result});
  }
  if (!ignore_merges_) word_ids_.clear();
  if (cache_words > 0) cache_ = std::make_unique<WordCache>(cache_words);
}

BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;
BpeModel::~BpeModel() = default;

void BpeModel::Encode(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() == 1) {
    ids->push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  // The cache first: it holds the frequent pre-tokens, whole-word ones too.
  const bool cacheable = cache_ != nullptr && word.size() <= WordCache::kMaxWordBytes;
  if (cacheable && cache_->Lookup(word, ids)) return;
  const size_t first = ids->size();
  const auto whole = ignore_merges_ ? word_ids_.find(absl::string_view(word.data(), word.size())) : word_ids_.end();
  if (whole != word_ids_.end()) {
    ids->push_back(whole->second);
  } else {
    MergeWord(word, /*use_heap=*/word.size() > 128, ids);
  }
  if (cacheable) cache_->Insert(word, std::span<const int32_t>(ids->data() + first, ids->size() - first));
}

void BpeModel::MergeWord(std::string_view word, bool use_heap, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (use_heap) {
    MergeHeap(word, ids);
  } else {
    MergeSmall(word, ids);
  }
}

// O(n^2) compares but only ~3n hash lookups: ranks[i] is the rank of the
// pair (symbols[i], symbols[i+1]); each step merges the first lowest rank.
void BpeModel::MergeSmall(std::string_view word, std::vector<int32_t>* ids) const {
  absl::InlinedVector<int32_t, 32> symbols;
  absl::InlinedVector<RankResult, 32> ranks;
  symbols.reserve(word.size());
  for (const char c : word) symbols.push_back(byte_ids_[static_cast<uint8_t>(c)]);
  ranks.resize(symbols.size() - 1);
  for (size_t i = 0; i + 1 < symbols.size(); ++i) ranks[i] = Lookup(symbols[i], symbols[i + 1]);
  while (!ranks.empty()) {
    size_t best = 0;
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (ranks[i].rank >= 0 && ranks[i].rank < best_rank) {
        best_rank = ranks[i].rank;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<int32_t>::max()) break;
    symbols[best] = ranks[best].result;
    symbols.erase(symbols.begin() + static_cast<ptrdiff_t>(best) + 1);
    ranks.erase(ranks.begin() + static_cast<ptrdiff_t>(best));
    if (best > 0) ranks[best - 1] = Lookup(symbols[best - 1], symbols[best]);
    if (best < ranks.size()) ranks[best] = Lookup(symbols[best], symbols[best + 1]);
  }
  ids->insert(ids->end(), symbols.begin(), symbols.end());
}

// O(n log n): a doubly linked list of symbols and a min-heap of candidate
// merges keyed by (rank, position); stale entries are skipped when popped.
void BpeModel::MergeHeap(std::string_view word, std::vector<int32_t>* ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> symbols(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    const RankResult r = Lookup(symbols[pos].id, symbols[next].id);
    if (r.rank >= 0) heap.push({r.rank, pos});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    const RankResult r = Lookup(left.id, symbols[left.next].id);
    if (r.rank != top.rank) continue;  // stale: this pair changed since
    Symbol& right = symbols[left.next];
    left.id = r.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

}  // namespace nmoe::tokenizer
