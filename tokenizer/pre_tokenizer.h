// Everything before the BPE model: added-token matching, normalisation and
// the pre-tokenizer splits, in Hugging Face's order. Shared by Tokenizer
// (encoding) and BpeTrainer (counting words).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/tokenizer_spec.h"

namespace nmoe::tokenizer {

// The regex of ByteLevel(use_regex=true), GPT-2's.
inline constexpr char kGpt2SplitRegex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class PreTokenizer {
 public:
  // Compiles the spec's added tokens, normaliser and splits.
  static absl::StatusOr<PreTokenizer> Create(const TokenizerSpec& spec);

  // For well-formed UTF-8 `text`, in order: on_token(id) for each added token
  // found, on_word(bytes) for each non-empty pre-token (with ByteLevel's
  // prefix space already added when configured).
  void Run(std::string_view text, absl::FunctionRef<void(int32_t)> on_token,
           absl::FunctionRef<void(std::string_view)> on_word) const;

 private:
  PreTokenizer() = default;
  void SplitWords(std::string_view piece, absl::FunctionRef<void(std::string_view)> on_word) const;

  AddedTokenMatcher raw_tokens_;         // normalized == false: matched in the raw text
  AddedTokenMatcher normalized_tokens_;  // normalized == true: in the normalised text
  Normalizer normalizer_;
  std::vector<SplitRegex> splits_;
  std::optional<SplitRegex> byte_level_regex_;
  bool add_prefix_space_ = false;
};

}  // namespace nmoe::tokenizer
