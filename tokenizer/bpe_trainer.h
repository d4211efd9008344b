// Trains a byte-level BPE tokenizer (like Hugging Face's BpeTrainer with the
// ByteLevel alphabet) and writes it as a tokenizer.json that Tokenizer and the
// Hugging Face libraries load.
//
// The vocabulary: the 256 byte tokens (ids 0-255, in code point order of
// their byte-level characters, as GPT-2 and Llama-3 order them), then one
// token per merge in merge order, then the special tokens (ids
// vocab_size - k .. vocab_size - 1, as Llama-3 places its added tokens).
// Merges: repeatedly the adjacent pair with the highest count over all
// pre-tokens (weighted by how often each pre-token occurs); ties go to the
// pair with the smaller (left id, right id), so training is deterministic.
// Training stops at the vocabulary size or when the best pair occurs fewer
// than min_frequency times. Merges are written as "a b" strings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace nmoe::tokenizer {

// Llama-3's pre-tokenizer regex (Oniguruma syntax, as in tokenizer.json).
inline constexpr char kLlama3SplitRegex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct BpeTrainerOptions {
  // Total ids, special tokens included; at least 256 + special_tokens.size().
  int32_t vocab_size = 8192;
  // Pairs seen fewer times than this are never merged.
  int64_t min_frequency = 2;
  // Added as special tokens after the BPE vocabulary, in this order. They are
  // matched in the training text (and never counted), as when encoding.
  std::vector<std::string> special_tokens = {"<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"};
  // The post-processor puts this token (one of special_tokens) before the
  // text when encoding with add_special_tokens; "" writes no post-processor.
  std::string bos_token = "<|begin_of_text|>";
  // The Split pre-tokenizer regex.
  std::string split_regex = kLlama3SplitRegex;
  // Write and apply an NFC normaliser (Qwen-style); none by default (Llama-3).
  bool nfc = false;
};

struct BpeTrainerStats {
  int64_t words = 0;           // pre-tokens counted
  int64_t distinct_words = 0;  // distinct pre-tokens
  int32_t merges = 0;
  int32_t vocab_size = 0;      // ids written (may be below the target if merges ran out)
};

class BpeTrainer {
 public:
  // INVALID_ARGUMENT for inconsistent options (sizes, duplicate or empty
  // special tokens, a bos_token that is not special, a bad regex).
  static absl::StatusOr<BpeTrainer> Create(BpeTrainerOptions options);
  BpeTrainer(BpeTrainer&&) noexcept;
  BpeTrainer& operator=(BpeTrainer&&) noexcept;
  ~BpeTrainer();

  // Counts the pre-tokens of `text` (one line or document; invalid UTF-8 is
  // replaced as Tokenizer::Encode does). Not thread-safe.
  void AddText(std::string_view text);

  // Learns the merges from everything added so far; the tokenizer.json text.
  absl::StatusOr<std::string> Train(BpeTrainerStats* stats = nullptr) const;

 private:
  struct State;
  explicit BpeTrainer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace nmoe::tokenizer
