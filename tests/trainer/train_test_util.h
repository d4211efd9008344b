// Helpers of the trainer tests: tiny models and packed token data on disk.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/packing.h"
#include "data/token_shard.h"
#include "model/checkpoint.h"
#include "trainer/presets.h"

namespace nmoe::trainer::testing {

// The tiny preset with a small vocabulary (bos 1, eos 2).
inline model::ModelConfig TinyModelConfig(int64_t vocab = 64) {
  auto c = PresetConfig("tiny", vocab, 1, 2);
  return *c;
}

// A shard of `docs` documents of learnable text: each document counts up from a
// random start modulo (vocab - 3), offset by 3 (ids 0-2 are special).
inline std::string WriteCountingShard(const std::string& path, int64_t vocab, int docs, uint64_t seed) {
  auto writer = data::TokenShardWriter::Create(path, static_cast<uint64_t>(vocab));
  uint64_t state = seed * 2654435761u + 1;
  for (int d = 0; d < docs; ++d) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int64_t start = static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(vocab - 3));
    const int64_t len = 20 + static_cast<int64_t>((state >> 20) % 40);
    std::vector<int32_t> doc;
    for (int64_t i = 0; i < len; ++i) doc.push_back(static_cast<int32_t>(3 + (start + i) % (vocab - 3)));
    (void)(*writer)->AddDocument(doc);
  }
  (void)(*writer)->Finish();
  return path;
}

inline std::unique_ptr<data::PackedLoader> Loader(const std::string& shard_path, int64_t seq_len, uint64_t seed) {
  auto shard = data::TokenShard::Open(shard_path);
  std::vector<std::shared_ptr<const data::TokenShard>> shards = {std::shared_ptr<const data::TokenShard>(std::move(*shard))};
  data::PackingOptions options;
  options.seq_len = seq_len;
  options.bos_id = 1;
  options.eos_id = 2;
  options.seed = seed;
  return *data::PackedLoader::Create(shards, options);
}

}  // namespace nmoe::trainer::testing
