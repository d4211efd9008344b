// Sentence splitting and per-language profiling sentence sets (docs/data.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::data {

// Text -> token ids, e.g. a bound nmoe::tokenizer::Tokenizer::Encode. Must be
// deterministic; may be called from one thread at a time only.
using Encoder = std::function<std::vector<int32_t>(std::string_view)>;

// Splits a paragraph into sentences. `lang` is an nmoe language code ("en", "el",
// "zh", ...). The text is whitespace-normalised first. Rules:
// - CJK terminators 。！？ (U+3002, U+FF01, U+FF1F) end a sentence right after them.
// - '!', '?', '…' (U+2026), and for Greek also ';' and U+037E (the Greek question
//   mark), end a sentence when followed by whitespace or the end of the text.
// - Except when the next word starts with a lowercase ASCII letter, a digit, a dash
//   (- – —), ',' or ':' (the sentence goes on: "approx. three", "Options… – Calc").
// - A single '.' also does not end a sentence after an abbreviation-like word (a
//   single letter as in "J." or "p.", or a word with an inner period as in "e.g.",
//   "z.B.", "т.е.").
// - A run of terminators ("?!", "...") counts as one; closing quotes and brackets
//   right after it (" ' ” ’ » ) ] 」 』 ） 】) stay with the sentence.
// Sentences are trimmed; empty ones are dropped.
std::vector<std::string> SplitSentences(std::string_view paragraph, std::string_view lang);

struct SentenceSetOptions {
  size_t count = 500;         // sentences wanted per language
  int min_word_units = 5;     // WordUnits (corpus/text_rules.h); CJK: 2 characters = 1
  size_t min_chars = 0;       // in code points
  size_t max_chars = 2000;    // in code points
  size_t max_tokens = 256;    // with an encoder: drop sentences with more ids (METHOD.md); 0: no limit
  uint64_t seed = 0;
  bool allow_fewer = false;   // else fewer than `count` candidates is an error
};

struct SentenceSetStats {
  uint64_t paragraphs = 0;
  uint64_t sentences = 0;        // after splitting
  uint64_t dropped_length = 0;   // word-unit or character limits
  uint64_t dropped_duplicate = 0;
  uint64_t dropped_tokens = 0;   // over max_tokens (only those examined)
};

// Selects `count` sentences of one language: split every paragraph, filter by length,
// drop duplicates, shuffle the candidates with SplitMix64(MixSeed(seed,
// Fnv1a64(lang))) (rng.h), then take candidates in that order, skipping those over
// max_tokens (only as many are encoded as needed). Deterministic for equal inputs.
// FAILED_PRECONDITION when fewer than `count` remain and !allow_fewer.
absl::StatusOr<std::vector<std::string>> SelectSentences(const std::vector<std::string>& paragraphs,
                                                         std::string_view lang, const SentenceSetOptions& options,
                                                         const Encoder* encoder, SentenceSetStats* stats = nullptr);

// A sentence set on disk: JSONL, one {"lang": "<code>", "text": "<sentence>"} object
// per line, languages in the order given, sentences in selection order.
struct LabeledSentence {
  std::string lang;
  std::string text;
  bool operator==(const LabeledSentence&) const = default;
};
absl::Status WriteSentenceSet(const std::string& path, const std::vector<LabeledSentence>& sentences);
// INVALID_ARGUMENT with PATH:LINE for a malformed line (not JSON, missing or
// non-string "lang"/"text").
absl::StatusOr<std::vector<LabeledSentence>> ReadSentenceSet(const std::string& path);

}  // namespace nmoe::data
