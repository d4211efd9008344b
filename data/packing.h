// Packing token shards into fixed-length training sequences (docs/data.md, "Packing").
//
// The stream: every document of every shard, in shard order, as
//   [bos_id] doc tokens [eos_id]      (each separator only when set)
// Window w is stream positions [w * seq_len, w * seq_len + seq_len + 1): seq_len + 1
// tokens, inputs tokens[0, seq_len), targets tokens[1, seq_len]; consecutive windows
// share one token, and the incomplete tail of the stream is dropped, so
// num_windows = (stream_length - 1) / seq_len. Documents are packed across window
// boundaries; attention may cross documents (the BOS separator marks them).
// Loss mask: target t is trained (1) unless bos_id is set and tokens[t + 1] == bos_id
// (the first token of a document cannot be predicted from the previous one).
//
// Order: epoch e visits a permutation of all windows (identity without shuffling,
// else a Fisher-Yates shuffle seeded from (seed, e); rng.h). Rank r of R takes the
// permutation's entries r, r + R, r + 2R, ...: ranks are disjoint, and each rank gets
// windows_per_rank = num_windows / R per epoch (the remainder is skipped, so every
// rank takes the same number of steps). After the last window of an epoch the next
// epoch starts with a new permutation.
//
// Resuming: Position() is (epoch, index of the next window in the rank's slice,
// fingerprint of shards and options). All ranks advance in lockstep, so one saved
// position serves every rank; Seek() to it continues exactly where it was taken.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/token_shard.h"

namespace nmoe::data {

struct PackingOptions {
  int64_t seq_len = 1024;         // tokens the model sees per sequence (windows hold seq_len + 1)
  std::optional<int32_t> bos_id;  // inserted before each document
  std::optional<int32_t> eos_id;  // appended after each document
  bool shuffle = true;
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
};

struct PackedSequence {
  std::vector<int32_t> tokens;     // seq_len + 1
  std::vector<uint8_t> loss_mask;  // seq_len; mask[t] belongs to target tokens[t + 1]
  std::vector<uint16_t> shard;     // seq_len: the shard whose document input token t is
                                   // part of (its separators included); shard order of Create
  uint64_t window = 0;             // global window index
};

struct LoaderPosition {
  uint64_t epoch = 0;
  uint64_t next = 0;         // index of the next window in this epoch's per-rank slice
  uint64_t fingerprint = 0;  // shards + options except rank
  std::string ToString() const;                                  // "epoch:next:fingerprint-hex"
  static absl::StatusOr<LoaderPosition> FromString(std::string_view text);
  bool operator==(const LoaderPosition&) const = default;
};

class PackedLoader {
 public:
  // INVALID_ARGUMENT for seq_len < 1, rank outside [0, world_size), separators
  // outside a shard's vocabulary, or a stream too short to give every rank a window.
  static absl::StatusOr<std::unique_ptr<PackedLoader>> Create(std::vector<std::shared_ptr<const TokenShard>> shards,
                                                              const PackingOptions& options);

  uint64_t stream_length() const { return doc_start_.back(); }
  uint64_t num_windows() const { return num_windows_; }
  uint64_t windows_per_rank() const { return windows_per_rank_; }

  // The next window of this rank (advances the position; never ends: epochs wrap).
  PackedSequence Next();
  // Window w < num_windows() of the stream, independent of the position.
  PackedSequence Window(uint64_t w) const;

  LoaderPosition Position() const { return {epoch_, next_, fingerprint_}; }
  // FAILED_PRECONDITION when the fingerprint differs (other shards or options),
  // OUT_OF_RANGE when `next` exceeds windows_per_rank().
  absl::Status Seek(const LoaderPosition& position);

 private:
  PackedLoader() = default;
  const std::vector<uint64_t>& Permutation(uint64_t epoch);
  int32_t StreamToken(uint64_t pos, size_t* doc_hint) const;

  std::vector<std::shared_ptr<const TokenShard>> shards_;
  PackingOptions options_;
  // Per global document: its shard, its index there, and its first stream position;
  // doc_start_ has one extra entry, the stream length.
  std::vector<uint32_t> doc_shard_;
  std::vector<uint64_t> doc_index_;
  std::vector<uint64_t> doc_start_;
  uint64_t num_windows_ = 0;
  uint64_t windows_per_rank_ = 0;
  uint64_t fingerprint_ = 0;
  uint64_t epoch_ = 0;
  uint64_t next_ = 0;
  uint64_t perm_epoch_ = UINT64_MAX;
  std::vector<uint64_t> perm_;
};

}  // namespace nmoe::data
