// The profiler tests' model: a random tiny-preset Llama with a byte-level BPE
// tokenizer trained on the first lines of the committed sample corpus
// (tests/data/corpus/<language>/train.txt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/causal_lm.h"

namespace nmoe::testing {

// $NMOE_SOURCE_DIR/tests/data/corpus/<language>/train.txt.
std::string SampleCorpus(const std::string& language);

struct TinyModel {
  std::string tokenizer_json;
  std::shared_ptr<model::CausalLm> lm;
};

// The tokenizer (`vocab_size`, trained on `lines_per_language` lines of each
// language) and a model of the tiny preset at its vocabulary, initialised with `seed`.
absl::StatusOr<TinyModel> MakeTinyModel(const std::vector<std::string>& languages, int64_t vocab_size,
                                        int lines_per_language, uint64_t seed);

// Writes `tokenizer_json` as tokenizer.json and `lm` in the Hugging Face layout into
// `dir` (created).
absl::Status SaveTinyModel(const std::string& tokenizer_json, const model::CausalLm& lm,
                           const std::filesystem::path& dir);

}  // namespace nmoe::testing
