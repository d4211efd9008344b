// Held-out perplexity per language (docs/training.md, "Evaluation").
//
// For one language: every document (line) of its files is encoded without special
// tokens and joined into one stream [bos] doc [eos] [bos] doc [eos] ... (each
// separator only when the tokenizer has it), as packing does for training
// (data/packing.h). The stream is cut into consecutive windows of sequence_length + 1
// tokens that share their boundary token (no shuffling); the last, shorter window
// keeps the tail, so every stream token after the first is predicted exactly once.
// Targets that are a BOS (the start of a document) are not predicted. With
// max_tokens > 0 the stream is cut to max_tokens + 1 tokens first.
//   nll = sum over predicted tokens of -log p(token | its window's prefix) / count
//   perplexity = exp(nll)
// Logits are computed in the model's dtype (under bf16 autocast when asked), the
// log-softmax in fp32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/causal_lm.h"
#include "tokenizer/tokenizer.h"
#include "trainer/routing_stats.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {

// Token frequencies of training text: the unigram baseline a model must beat.
struct UnigramCounts {
  std::vector<uint64_t> counts;  // by token id
  uint64_t total = 0;
  void Add(int32_t id);
  // -log p(id) with add-one smoothing over counts.size() ids.
  double Nll(int32_t id) const;
};

struct PerplexityOptions {
  int64_t sequence_length = 512;
  uint64_t max_tokens = 0;       // predicted tokens per language; 0 = all
  int64_t batch_sequences = 8;   // windows per forward pass
  bool bf16_autocast = false;
  // Without a given baseline, compare with the unigram model of the evaluated text's
  // own targets (add-one smoothed over the model's vocabulary): v1::LanguageEvaluation.
  bool heldout_unigram = false;
};

struct LanguagePerplexity {
  std::string language;
  uint64_t documents = 0;
  uint64_t tokens = 0;  // predicted tokens
  double nll = 0;       // mean negative log-likelihood, nats per token
  double perplexity = 0;
  double unigram_perplexity = 0;  // of the baseline on the same targets; 0 = not computed
};

// The stream described above; `max_stream_tokens` = 0: no cut.
std::vector<int32_t> BuildEvalStream(const std::vector<std::vector<int32_t>>& documents, std::optional<int32_t> bos,
                                     std::optional<int32_t> eos, uint64_t max_stream_tokens = 0);

// The stream's windows as batches of up to `batch_sequences` windows; the tail window
// comes alone in the last batch when it is shorter. Empty for a stream of < 2 tokens.
std::vector<Batch> EvalBatches(const std::vector<int32_t>& stream, int64_t sequence_length, int64_t batch_sequences,
                               std::optional<int32_t> bos);

// Summed NLL and count over batches (no gradients). With `routing`, every forward's
// expert choices are added to `routing_group`.
struct NllSum {
  double sum = 0;
  uint64_t count = 0;
};
absl::StatusOr<NllSum> SumNll(model::CausalLm& model, const std::vector<Batch>& batches, bool bf16_autocast,
                              RoutingCounter* routing = nullptr, const std::string& routing_group = "");

// exp(mean unigram NLL) over the batches' predicted targets.
double UnigramPerplexity(const UnigramCounts& unigram, const std::vector<Batch>& batches);

// Reads the files of one language (plain text or JSONL, data/text_reader.h),
// tokenizes and evaluates them; with `unigram`, also the baseline's perplexity on the
// same targets (or, with options.heldout_unigram, of the text's own unigram counts);
// with `routing`, the MoE layers' choices are counted under `language`. INVALID_ARGUMENT when the text yields no predicted token; reader
// errors name PATH:LINE.
absl::StatusOr<LanguagePerplexity> EvaluateLanguage(model::CausalLm& model, const tokenizer::Tokenizer& tokenizer,
                                                    const std::string& language, const std::vector<std::string>& paths,
                                                    const PerplexityOptions& options,
                                                    const UnigramCounts* unigram = nullptr,
                                                    RoutingCounter* routing = nullptr);

// {"<lang>": {"documents", "tokens", "nll", "perplexity"[, "unigram_perplexity"]}, ...}
// (pretty, sorted).
std::string PerplexityJson(const std::vector<LanguagePerplexity>& results);
// A fixed-width table, one line per language (for logs).
std::vector<std::string> PerplexityTable(const std::vector<LanguagePerplexity>& results);

}  // namespace nmoe::trainer
