// A Hugging Face checkpoint's weights: one model.safetensors, or shards listed by
// model.safetensors.index.json ({"metadata": {"total_size": N}, "weight_map": {name: file}}).
// Reading validates the index against the shards; writing produces the layout
// transformers' from_pretrained loads (docs/checkpoints.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/safetensors.h"

namespace nmoe::safetensors {

inline constexpr char kSingleFileName[] = "model.safetensors";
inline constexpr char kIndexFileName[] = "model.safetensors.index.json";

// Every tensor of a checkpoint, whichever file holds it. Immutable; thread-safe reads.
class Checkpoint {
 public:
  struct Entry {
    std::shared_ptr<const File> file;  // the shard holding the tensor
    const TensorInfo* info = nullptr;  // points into file->tensors()
  };

  // `path` is a folder holding model.safetensors or model.safetensors.index.json (both
  // present is an error: ambiguous), or the path of a .safetensors file or of an index
  // file itself. Index checks: valid JSON object; "weight_map" an object of
  // name -> shard file name; shard names plain file names ending in ".safetensors"
  // (no folders, no "..": no path traversal); every shard exists and is valid; every
  // listed tensor is in its shard; every tensor of a shard is listed, for that shard.
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& path);

  // nullptr when absent.
  const Entry* Find(std::string_view name) const;
  // All tensors by name.
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }
  // The files, by shard file name (one for a single file).
  const std::vector<std::shared_ptr<const File>>& files() const { return files_; }
  // True when read through an index file.
  bool sharded() const { return sharded_; }
  // The index's "metadata" object ({} for a single file or none); values as JSON text
  // except strings, which are unquoted. total_size is informational: transformers does
  // not check it and published checkpoints disagree with their tensor sums, so it is
  // only checked to be a non-negative integer.
  const std::map<std::string, std::string>& index_metadata() const { return index_metadata_; }
  // The index file path, or the single file path.
  const std::string& source() const { return source_; }

 private:
  Checkpoint() = default;
  friend class CheckpointLoader;

  std::string source_;
  bool sharded_ = false;
  std::vector<std::shared_ptr<const File>> files_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::map<std::string, std::string> index_metadata_;
};

// The shard file name Hugging Face uses: model-00001-of-00003.safetensors (1-based).
std::string ShardFileName(int index, int count);

// Writes `tensors` into folder `dir` (created if missing) as Hugging Face does: shards
// filled greedily in the given order, a new shard started when the next tensor would
// push the current one past `max_shard_bytes` (a tensor larger than that gets a shard of
// its own). One shard -> model.safetensors, no index; several ->
// model-0000i-of-0000n.safetensors plus model.safetensors.index.json with
// total_size = sum of tensor bytes. Every file is written atomically, the index last;
// stale model.safetensors / index / model-*-of-*.safetensors files left by an earlier
// save are removed afterwards, so the folder never holds two weight sets once this
// returns OK. The folder as a whole is not replaced atomically: write to a fresh folder
// and rename it for that. Each shard's metadata is `metadata` plus "format": "pt" (which
// transformers requires) unless `metadata` sets "format".
absl::Status WriteSharded(const std::string& dir, std::span<const TensorView> tensors,
                          uint64_t max_shard_bytes,
                          const std::map<std::string, std::string>& metadata = {});

}  // namespace nmoe::safetensors
