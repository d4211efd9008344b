#include "tests/profiler/tiny_model.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/checkpoint.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer.h"
#include "trainer/presets.h"

namespace nmoe::testing {

std::string SampleCorpus(const std::string& language) {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/tests/data/corpus/", language, "/train.txt");
}

absl::StatusOr<TinyModel> MakeTinyModel(const std::vector<std::string>& languages, int64_t vocab_size,
                                        int lines_per_language, uint64_t seed) {
  NMOE_ASSIGN_OR_RETURN(auto trainer, tokenizer::BpeTrainer::Create({.vocab_size = static_cast<int32_t>(vocab_size)}));
  for (const std::string& language : languages) {
    std::ifstream in(SampleCorpus(language));
    if (!in) return absl::NotFoundError(absl::StrCat("no sample corpus ", SampleCorpus(language)));
    std::string line;
    for (int i = 0; i < lines_per_language && std::getline(in, line); ++i) trainer.AddText(line);
  }
  TinyModel out;
  NMOE_ASSIGN_OR_RETURN(out.tokenizer_json, trainer.Train());
  NMOE_ASSIGN_OR_RETURN(auto tok, tokenizer::Tokenizer::FromJson(out.tokenizer_json));
  NMOE_ASSIGN_OR_RETURN(auto config, trainer::PresetConfig("tiny", tok.vocab_size(), tok.bos_id(), tok.eos_id()));
  NMOE_ASSIGN_OR_RETURN(out.lm, model::NewRandomModel(config, seed));
  return out;
}

absl::Status SaveTinyModel(const std::string& tokenizer_json, const model::CausalLm& lm,
                           const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tokenizer_json;
  return model::SavePretrained(lm, dir.string());
}

}  // namespace nmoe::testing
