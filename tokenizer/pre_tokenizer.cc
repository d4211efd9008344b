#include "tokenizer/pre_tokenizer.h"

#include <string>

#include "common/status_macros.h"

namespace nmoe::tokenizer {

absl::StatusOr<PreTokenizer> PreTokenizer::Create(const TokenizerSpec& spec) {
  PreTokenizer p;
  p.normalizer_ = spec.normalizer;
  for (const AddedToken& token : spec.added_tokens) {
    if (token.normalized) {
      p.normalized_tokens_.Add(p.normalizer_.Apply(token.content), token);
    } else {
      p.raw_tokens_.Add(token.content, token);
    }
  }
  for (const SplitSpec& split : spec.splits) {
    NMOE_ASSIGN_OR_RETURN(SplitRegex regex, SplitRegex::Compile(split.pattern, split.is_regex, split.behavior));
    p.splits_.push_back(std::move(regex));
  }
  if (spec.byte_level_use_regex) {
    NMOE_ASSIGN_OR_RETURN(SplitRegex regex,
                          SplitRegex::Compile(kGpt2SplitRegex, true, SplitBehavior::kIsolated));
    p.byte_level_regex_.emplace(std::move(regex));
  }
  p.add_prefix_space_ = spec.byte_level_add_prefix_space;
  return p;
}

void PreTokenizer::Run(std::string_view text, absl::FunctionRef<void(int32_t)> on_token,
                       absl::FunctionRef<void(std::string_view)> on_word) const {
  std::vector<Segment> raw;
  raw_tokens_.Split(text, &raw);
  std::vector<Segment> normalized;
  std::string normalized_text;
  for (const Segment& segment : raw) {
    if (segment.token_id >= 0) {
      on_token(segment.token_id);
      continue;
    }
    std::string_view piece = segment.text;
    if (!normalizer_.empty()) {
      normalized_text = normalizer_.Apply(piece);
      piece = normalized_text;
    }
    normalized.clear();
    normalized_tokens_.Split(piece, &normalized);
    for (const Segment& inner : normalized) {
      if (inner.token_id >= 0) {
        on_token(inner.token_id);
      } else {
        SplitWords(inner.text, on_word);
      }
    }
  }
}

void PreTokenizer::SplitWords(std::string_view piece,
                              absl::FunctionRef<void(std::string_view)> on_word) const {
  std::vector<std::string_view> current{piece};
  std::vector<std::string_view> next;
  auto apply = [&](const SplitRegex& regex) {
    next.clear();
    for (const std::string_view p : current) regex.Split(p, &next);
    current.swap(next);
  };
  for (const SplitRegex& regex : splits_) apply(regex);
  if (!add_prefix_space_) {
    if (byte_level_regex_) apply(*byte_level_regex_);
    for (const std::string_view word : current) on_word(word);
    return;
  }
  // ByteLevel's prefix space goes on every piece of the previous step, then
  // its own regex (if any) splits the prefixed piece.
  std::string prefixed;
  std::vector<std::string_view> words;
  for (const std::string_view p : current) {
    std::string_view word = p;
    if (!p.starts_with(' ')) {
      prefixed.clear();
      prefixed.push_back(' ');
      prefixed.append(p.data(), p.size());
      word = prefixed;
    }
    if (byte_level_regex_) {
      words.clear();
      byte_level_regex_->Split(word, &words);
      for (const std::string_view w : words) on_word(w);
    } else {
      on_word(word);
    }
  }
}

}  // namespace nmoe::tokenizer
