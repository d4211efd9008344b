// A byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json
// (Llama-3, Qwen2/3 and files written by BpeTrainer). Torch-free.
//
// Contract:
// - Encode gives the ids Hugging Face's tokenizers (and the JS reference
//   @huggingface/tokenizers) give for the same text: added tokens are matched
//   in the raw text first (then normalised ones in the normalised text), the
//   rest is normalised, split by the pre-tokenizer regex and BPE-merged. The
//   post-processor's template (e.g. Llama-3.2's BOS) is applied only when
//   add_special_tokens is true. Parity is tested line by line on real files.
// - Invalid UTF-8 in the input is first replaced by U+FFFD per maximal
//   ill-formed subsequence (as a text file read as UTF-8 by Node or Python
//   with errors="replace"), then encoded; Encode never fails.
// - Decode concatenates the tokens' bytes (added tokens verbatim) and
//   replaces invalid UTF-8 by U+FFFD, as HF's ByteLevel decoder does; it does
//   not "clean up tokenization spaces". Unknown ids are INVALID_ARGUMENT.
// - A Tokenizer is cheap to copy and move (copies share the immutable tables
//   and the pre-token cache) and every const method is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/added_tokens.h"

namespace nmoe::tokenizer {

class Tokenizer {
 public:
  // Errors name the file and, for bad content, the JSON path (see
  // tokenizer_spec.h for what is supported): NOT_FOUND for a missing file,
  // INVALID_ARGUMENT for malformed or inconsistent JSON, UNIMPLEMENTED for
  // unsupported components or options.
  static absl::StatusOr<Tokenizer> FromFile(const std::string& path);
  static absl::StatusOr<Tokenizer> FromJson(std::string_view json);

  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = false) const;
  // Appends to `ids` instead (no allocation of a result vector).
  void EncodeTo(std::string_view text, bool add_special_tokens, std::vector<int32_t>* ids) const;

  absl::StatusOr<std::string> Decode(std::span<const int32_t> ids,
                                     bool skip_special_tokens = false) const;

  // One more than the largest id of the model vocabulary and added tokens.
  int32_t vocab_size() const;
  // The id of a token as written in tokenizer.json ("Ġthe", "<|begin_of_text|>").
  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token of an id as written in tokenizer.json; nullopt if unassigned.
  std::optional<std::string> IdToToken(int32_t id) const;
  bool IsSpecial(int32_t id) const;
  const std::vector<AddedToken>& added_tokens() const;

  // BOS: the special token the post-processor puts before the text, else the
  // first of <|begin_of_text|>, <s>, <|startoftext|> among the added tokens.
  // EOS: the special token it puts after the text, else the first of
  // <|end_of_text|>, </s>, <|endoftext|> among the added tokens. nullopt when
  // neither exists.
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;

  // True when Encode(..., true) adds tokens (a TemplateProcessing).
  bool has_post_processor_template() const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace nmoe::tokenizer
