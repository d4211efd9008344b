// Inputs of a pretraining run, prepared once per output folder and reused on resume
// (docs/training.md, "Data"):
//   <output>/tokenizer.json            trained on the corpora when no tokenizer is given
//   <output>/tokenizer.source.json     what it was trained from (reuse check)
//   <output>/data/<lang>-NNNNN.tok     token shards of each language's training text
//   <output>/data/manifest.json        shard list + fingerprint (reuse check)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::trainer {

struct LanguageFiles {
  std::string language;
  std::vector<std::string> paths;  // resolved
};

// SHA-256 (hex) over every language, path name, size and content, in order.
absl::StatusOr<std::string> CorpusFingerprint(const std::vector<LanguageFiles>& corpora);

struct TokenizerTraining {
  int32_t vocab_size = 8192;
  // Text per language fed to the BPE trainer: the first documents of each language up
  // to min(this, the smallest language's size) bytes, so every language weighs the same.
  uint64_t sample_bytes_per_language = 2ull << 20;
};

// Returns the tokenizer at `path`, training and writing it (atomically) first unless
// the file exists and tokenizer.source.json next to it records the same corpus
// fingerprint and options. `log` gets one line about what happened.
absl::StatusOr<tokenizer::Tokenizer> TrainOrReuseTokenizer(const std::vector<LanguageFiles>& corpora,
                                                           const std::string& corpus_fingerprint,
                                                           const TokenizerTraining& options,
                                                           const std::filesystem::path& path,
                                                           const std::function<void(const std::string&)>& log);

struct PreparedShards {
  std::vector<std::string> shards;  // all languages, in corpus order
  std::vector<std::string> shard_languages;  // the language of each shard
  uint64_t documents = 0;
  uint64_t tokens = 0;
  std::string fingerprint;          // of tokenizer and corpus: names the data in checkpoints
};

// Tokenizes each language's files into <data_dir>/<lang>-NNNNN.tok, unless
// manifest.json there matches (same tokenizer file hash and corpus fingerprint) and
// every shard it lists opens and verifies; otherwise the folder is rebuilt.
absl::StatusOr<PreparedShards> PrepareShards(const std::vector<LanguageFiles>& corpora,
                                             const std::string& corpus_fingerprint,
                                             const tokenizer::Tokenizer& tokenizer,
                                             const std::string& tokenizer_sha256,
                                             const std::filesystem::path& data_dir,
                                             const std::function<void(const std::string&)>& log);

}  // namespace nmoe::trainer
