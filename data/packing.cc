#include "data/packing.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "data/hash.h"
#include "data/rng.h"

namespace nmoe::data {

std::string LoaderPosition::ToString() const { return absl::StrFormat("%d:%d:%016x", epoch, next, fingerprint); }

absl::StatusOr<LoaderPosition> LoaderPosition::FromString(std::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(text.data(), text.size()), ':');
  LoaderPosition p;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &p.epoch) || !absl::SimpleAtoi(parts[1], &p.next) ||
      !absl::SimpleHexAtoi(parts[2], &p.fingerprint)) {
    return absl::InvalidArgumentError(absl::StrCat("bad loader position '", std::string(text),
                                                   "' (expected epoch:next:fingerprint-hex)"));
  }
  return p;
}

absl::StatusOr<std::unique_ptr<PackedLoader>> PackedLoader::Create(
    std::vector<std::shared_ptr<const TokenShard>> shards, const PackingOptions& options) {
  if (options.seq_len < 1) return absl::InvalidArgumentError(absl::StrCat("seq_len ", options.seq_len, " < 1"));
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options.rank, " outside [0, world_size = ", options.world_size, ")"));
  }
  if (shards.size() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(shards.size(), " shards: at most 65535 per loader"));
  }
  std::unique_ptr<PackedLoader> loader(new PackedLoader());
  loader->options_ = options;
  const uint64_t seps = (options.bos_id ? 1 : 0) + (options.eos_id ? 1 : 0);
  std::string fingerprint_input;
  uint64_t pos = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    const TokenShard& shard = *shards[s];
    for (const std::optional<int32_t>& sep : {options.bos_id, options.eos_id}) {
      if (sep && (*sep < 0 || static_cast<uint64_t>(*sep) >= shard.vocab_size())) {
        return absl::InvalidArgumentError(absl::StrCat("separator id ", *sep, " outside the vocabulary of ",
                                                       shard.path(), " (", shard.vocab_size(), ")"));
      }
    }
    absl::StrAppend(&fingerprint_input, shard.body_sha256(), ";");
    for (uint64_t d = 0; d < shard.num_documents(); ++d) {
      auto [first, last] = shard.DocumentRange(d);
      loader->doc_shard_.push_back(static_cast<uint32_t>(s));
      loader->doc_index_.push_back(d);
      loader->doc_start_.push_back(pos);
      pos += last - first + seps;
    }
  }
  loader->doc_start_.push_back(pos);
  loader->shards_ = std::move(shards);
  const uint64_t seq = static_cast<uint64_t>(options.seq_len);
  loader->num_windows_ = pos > seq ? (pos - 1) / seq : 0;
  loader->windows_per_rank_ = loader->num_windows_ / static_cast<uint64_t>(options.world_size);
  if (loader->windows_per_rank_ == 0) {
    return absl::InvalidArgumentError(absl::StrCat("the stream holds ", pos, " tokens: ", loader->num_windows_,
                                                   " windows of ", seq + 1, " tokens, fewer than the ",
                                                   options.world_size, " rank(s)"));
  }
  absl::StrAppend(&fingerprint_input, "seq=", options.seq_len, ";bos=", options.bos_id ? *options.bos_id : -1,
                  ";eos=", options.eos_id ? *options.eos_id : -1, ";shuffle=", options.shuffle,
                  ";seed=", options.seed, ";world=", options.world_size);
  loader->fingerprint_ = Fnv1a64(fingerprint_input);
  return loader;
}

const std::vector<uint64_t>& PackedLoader::Permutation(uint64_t epoch) {
  if (perm_epoch_ != epoch) {
    perm_.resize(num_windows_);
    std::iota(perm_.begin(), perm_.end(), uint64_t{0});
    if (options_.shuffle) {
      SplitMix64 rng(MixSeed(options_.seed, epoch));
      Shuffle(&perm_, &rng);
    }
    perm_epoch_ = epoch;
  }
  return perm_;
}

int32_t PackedLoader::StreamToken(uint64_t pos, size_t* doc) const {
  // Advance the hint to the document holding `pos` (windows read forward), or search.
  if (*doc >= doc_shard_.size() || doc_start_[*doc] > pos || doc_start_[*doc + 1] <= pos) {
    *doc = static_cast<size_t>(std::upper_bound(doc_start_.begin(), doc_start_.end(), pos) - doc_start_.begin()) - 1;
  }
  const TokenShard& shard = *shards_[doc_shard_[*doc]];
  uint64_t offset = pos - doc_start_[*doc];
  if (options_.bos_id) {
    if (offset == 0) return *options_.bos_id;
    --offset;
  }
  auto [first, last] = shard.DocumentRange(doc_index_[*doc]);
  if (offset < last - first) return static_cast<int32_t>(shard.Token(first + offset));
  return *options_.eos_id;  // the only other stream position of a document
}

PackedSequence PackedLoader::Window(uint64_t w) const {
  const uint64_t seq = static_cast<uint64_t>(options_.seq_len);
  PackedSequence out;
  out.window = w;
  out.tokens.resize(seq + 1);
  out.loss_mask.assign(seq, 1);
  out.shard.resize(seq);
  size_t doc = SIZE_MAX;
  for (uint64_t i = 0; i <= seq; ++i) {
    out.tokens[i] = StreamToken(w * seq + i, &doc);
    if (i < seq) out.shard[i] = static_cast<uint16_t>(doc_shard_[doc]);
  }
  if (options_.bos_id) {
    for (uint64_t t = 0; t < seq; ++t) {
      if (out.tokens[t + 1] == *options_.bos_id) out.loss_mask[t] = 0;
    }
  }
  return out;
}

PackedSequence PackedLoader::Next() {
  if (next_ >= windows_per_rank_) {
    ++epoch_;
    next_ = 0;
  }
  const std::vector<uint64_t>& perm = Permutation(epoch_);
  uint64_t w = perm[static_cast<size_t>(next_ * static_cast<uint64_t>(options_.world_size) +
                                        static_cast<uint64_t>(options_.rank))];
  ++next_;
  return Window(w);
}

absl::Status PackedLoader::Seek(const LoaderPosition& position) {
  if (position.fingerprint != fingerprint_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "loader position %s was taken over other shards or options (fingerprint %016x here)", position.ToString(),
        fingerprint_));
  }
  if (position.next > windows_per_rank_) {
    return absl::OutOfRangeError(absl::StrCat("loader position ", position.ToString(), ": next ", position.next,
                                              " > windows per rank ", windows_per_rank_));
  }
  epoch_ = position.epoch;
  next_ = position.next;
  return absl::OkStatus();
}

}  // namespace nmoe::data
