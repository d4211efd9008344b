// The parts of a Hugging Face tokenizer.json that nmoe supports, parsed and
// checked, before the lookup structures are built (tokenizer.cc) or written
// back (tokenizer_writer.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/split_regex.h"

namespace nmoe::tokenizer {

// One Split step of the pre-tokenizer.
struct SplitSpec {
  std::string pattern;  // Oniguruma regex, or a literal when !is_regex
  bool is_regex = true;
  SplitBehavior behavior = SplitBehavior::kIsolated;
};

// An item of the post-processor's single-sequence template.
struct TemplateItem {
  bool is_sequence = false;  // the encoded text ($A)
  std::vector<int32_t> ids;  // else: the special token's ids
  std::string name;          // the special token's name (its "id" in the JSON)
};

struct TokenizerSpec {
  // model (BPE): vocabulary in the byte-level alphabet, merges in rank order.
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  bool ignore_merges = false;

  std::vector<AddedToken> added_tokens;
  Normalizer normalizer;

  // pre_tokenizer: Split steps in order, then ByteLevel.
  std::vector<SplitSpec> splits;
  bool byte_level_add_prefix_space = false;
  bool byte_level_use_regex = false;  // ByteLevel's own GPT-2 regex split

  // post_processor: a TemplateProcessing "single" template, or none.
  bool has_template = false;
  std::vector<TemplateItem> single_template;
};

// Parses tokenizer.json text. INVALID_ARGUMENT names the JSON path and what
// is wrong for malformed or truncated input (never crashes); UNIMPLEMENTED
// names the component and option for valid but unsupported configurations.
// Supported: model BPE (dropout null/0, byte_fallback false, no subword
// prefix/suffix, ignore_merges, merges as "a b" strings or [a, b] pairs);
// normalizer null, NFC, NFD, NFKC, NFKD or a Sequence of them; pre_tokenizer
// ByteLevel, or a Sequence of Split steps (Isolated or Removed, not inverted)
// ending in ByteLevel; post_processor null, ByteLevel, TemplateProcessing or a
// Sequence of them; decoder ByteLevel; truncation and padding null.
absl::StatusOr<TokenizerSpec> ParseTokenizerJson(std::string_view json);

}  // namespace nmoe::tokenizer
