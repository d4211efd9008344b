// Profiling sentences: per-language sets from corpora (data/sentences.h), encoded with
// the model's tokenizer (BOS included, as the model sees text), and padded batches of
// one language each.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::profiler {

struct LanguageCorpus {
  std::string language;
  std::vector<std::string> paths;  // text or JSONL (data/text_reader.h)
};

struct ProfileSentence {
  int64_t id = 0;        // global number: languages in order, then selection order
  int32_t language = 0;  // index into the corpora
  std::vector<int32_t> ids;
};

struct SentenceOptions {
  size_t per_language = 500;
  size_t max_tokens = 256;  // sentences with more ids (BOS included) are dropped
  uint64_t seed = 0;
  bool allow_fewer = false;
};

// Errors name the language and file.
absl::StatusOr<std::vector<ProfileSentence>> LoadSentences(const std::vector<LanguageCorpus>& corpora,
                                                           const tokenizer::Tokenizer& tokenizer,
                                                           const SentenceOptions& options);

struct SentenceBatch {
  int32_t language = 0;
  std::vector<int64_t> sentence_ids;  // row order
  at::Tensor ids_BT;                  // int64, right-padded
  at::Tensor mask_BT;                 // int64, 1 = real token
  int64_t real_tokens = 0;
};

// Batches of one language each, sentences sorted by length (padding stays small),
// at most `max_batch_tokens` padded tokens per batch (at least one sentence). `pad_id`
// fills padding (any valid id; masked out).
std::vector<SentenceBatch> MakeBatches(const std::vector<ProfileSentence>& sentences, int64_t max_batch_tokens,
                                       int32_t pad_id = 0);

}  // namespace nmoe::profiler
