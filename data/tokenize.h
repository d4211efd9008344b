// Tokenizing documents into token shards (token_shard.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/sentences.h"  // Encoder
#include "data/text_reader.h"

namespace nmoe::data {

struct ShardBuildOptions {
  uint64_t vocab_size = 0;                      // required; ids must be below it
  uint64_t max_tokens_per_shard = 256ull << 20; // a shard is closed after the document that reaches this
  std::string out_prefix;                       // shards are <out_prefix>-00000.tok, -00001.tok, ...
};

struct ShardBuildResult {
  std::vector<std::string> shards;
  uint64_t documents = 0;
  uint64_t tokens = 0;
  uint64_t bytes_in = 0;  // UTF-8 bytes of the documents
  uint64_t chars_in = 0;  // code points of the documents
};

// Reads every document of every input (formats as in text_reader.h), encodes it and
// appends it, as one shard document, to the current shard. Empty encodings are kept
// as empty documents (the document count matches the input). Errors from the readers
// (with PATH:LINE) and the writer are returned unchanged; shards already finished
// stay on disk.
absl::StatusOr<ShardBuildResult> TokenizeToShards(const std::vector<std::string>& inputs, TextFormat format,
                                                  const Encoder& encoder, const ShardBuildOptions& options);

}  // namespace nmoe::data
