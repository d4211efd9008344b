// Small pieces the trainer's task kinds share.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/task.h"
#include "google/protobuf/repeated_field.h"
#include "nmoe/v1/job_spec.pb.h"
#include "trainer/perplexity.h"
#include "trainer/pretrain_data.h"

namespace nmoe::trainer {

// True when the job's compute dtype (spec.resources, compute::ResolveComputeDtype)
// is bf16: the forward runs under CPU autocast. Logs the choice and its reason.
// FAILED_PRECONDITION for CUDA jobs (this build trains on the CPU only).
absl::StatusOr<bool> UseBf16Autocast(const TaskContext& ctx);

// Corpora with every path resolved against the work dir.
std::vector<LanguageFiles> ResolveCorpora(const TaskContext& ctx,
                                          const google::protobuf::RepeatedPtrField<v1::Corpus>& corpora);

// Writes `text` to `path` through a temporary file and a rename.
absl::Status WriteFileAtomically(const std::filesystem::path& path, const std::string& text);

// Evaluates every language (perplexity.h), logging a table. With `unigrams`, each
// language is compared with the unigram baseline of its own training text (or of all
// training text when it has none). With `routing`, MoE choices are counted per language.
// Errors name the language.
absl::StatusOr<std::vector<LanguagePerplexity>> EvaluateHeldout(model::CausalLm& model,
                                                                const tokenizer::Tokenizer& tokenizer,
                                                                const std::vector<LanguageFiles>& heldout,
                                                                const PerplexityOptions& options,
                                                                const TaskContext& ctx,
                                                                const std::map<std::string, UnigramCounts>* unigrams = nullptr,
                                                                RoutingCounter* routing = nullptr);

// Unigram counts of token shards by language ("" = all languages together).
absl::StatusOr<std::map<std::string, UnigramCounts>> CountUnigrams(const std::vector<std::string>& shards,
                                                                   const std::vector<std::string>& languages,
                                                                   int64_t vocab_size);

}  // namespace nmoe::trainer
