// The Split pre-tokenizer: cuts text at the matches of a pattern written for
// Hugging Face tokenizers (Oniguruma syntax), matched with PCRE2 (JIT, UTF,
// UCP) after TranslateOnigurumaPattern.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::tokenizer {

// Rewrites an Oniguruma pattern (as in tokenizer.json) into PCRE2 syntax with
// the meaning Hugging Face's reference implementations give it:
//   \s, \S            -> \p{White_Space}, \P{White_Space} (PCRE2's \s adds U+180E)
//   \p{L}, \p{N}      -> \p{L} / \p{N} plus the code points Unicode assigned after
//                        PCRE2's tables (unicode_extra.h); \P{L}, \P{N} likewise
//                        outside character classes (inside one they stay as is)
//   (?i:...)          -> ASCII letters spelled [aA] (ASCII folding, as the JS
//                        reference does; Unicode folding would also match U+017F)
// Everything else is copied. Constructs whose meaning differs between the two
// engines and that no supported tokenizer uses are rejected with
// UNIMPLEMENTED naming them: \w \W \b \B \h \H \G \X \R \K, nested classes,
// inline flags other than a (?i:...) group, classes inside (?i:...).
absl::StatusOr<std::string> TranslateOnigurumaPattern(std::string_view pattern);

// How a Split keeps the matches (HF's SplitDelimiterBehavior).
enum class SplitBehavior {
  kIsolated,  // matches and the text between them become separate pieces
  kRemoved,   // matches are dropped, the text between them kept
};

class SplitRegex {
 public:
  // `pattern` is an Oniguruma regex when `is_regex`, else a literal string.
  // INVALID_ARGUMENT (with PCRE2's message and offset) for a bad pattern.
  static absl::StatusOr<SplitRegex> Compile(std::string_view pattern, bool is_regex,
                                            SplitBehavior behavior);

  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;
  ~SplitRegex();

  // Appends the non-empty pieces of `text` (well-formed UTF-8) in order. An
  // empty match is skipped by one code point. Thread-safe. Should PCRE2 run
  // out of resources on a pathological input (never seen; the JIT stack
  // grows to 64 MiB first), the rest of the text becomes one piece.
  void Split(std::string_view text, std::vector<std::string_view>* pieces) const;

  // The PCRE2 pattern actually compiled.
  const std::string& compiled_pattern() const { return compiled_pattern_; }

 private:
  struct Code;
  SplitRegex(std::unique_ptr<Code> code, std::string compiled, SplitBehavior behavior);
  std::unique_ptr<Code> code_;
  std::string compiled_pattern_;
  SplitBehavior behavior_;
};

}  // namespace nmoe::tokenizer
