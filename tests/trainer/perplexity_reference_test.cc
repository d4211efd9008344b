// Held-out perplexity against an independent reference: the same checkpoint and
// windows through tests/trainer/reference_nll.py (the Python decoder of
// tests/model/reference_llama.py in float64, Debian's /usr/bin/python3 with torch 1.13).
// Required: the summed NLL agrees to 1e-5 relative, the token counts exactly.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/train_test_util.h"
#include "tokenizer/bpe_trainer.h"
#include "trainer/perplexity.h"

namespace nmoe::trainer {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

TEST(PerplexityReferenceTest, MatchesPythonReference) {
  nmoe::testing::TempDir dir;
  const std::string text = SourceDir() + "/tests/data/corpus/de/validation.txt";
  // A tokenizer trained on the sample's German training text; a tiny model with
  // weights spread wider than the init so the NLL is far from uniform.
  tokenizer::BpeTrainerOptions bpe;
  bpe.vocab_size = 512;
  auto trainer = tokenizer::BpeTrainer::Create(bpe);
  ASSERT_TRUE(trainer.ok());
  {
    std::ifstream in(SourceDir() + "/tests/data/corpus/de/train.txt");
    std::string line;
    while (std::getline(in, line)) trainer->AddText(line);
  }
  auto tok = tokenizer::Tokenizer::FromJson(*trainer->Train());
  ASSERT_TRUE(tok.ok()) << tok.status();
  model::ModelConfig config = testing::TinyModelConfig(tok->vocab_size());
  auto lm = *model::NewRandomModel(config, 21);
  {
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(22);
    for (auto& p : lm->parameters()) {
      if (p.dim() == 2) p.mul_(5.0);
      else p.add_(at::empty(p.sizes()).normal_(0.0, 0.1, gen));
    }
  }
  ASSERT_TRUE(model::SavePretrained(*lm, dir.file("model")).ok());

  PerplexityOptions options;
  options.sequence_length = 48;
  options.max_tokens = 700;
  options.batch_sequences = 4;
  auto result = EvaluateLanguage(*lm, *tok, "de", {text}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_GT(result->tokens, 600u);

  // The same windows, rebuilt from the text, for the reference.
  std::vector<std::vector<int32_t>> docs;
  {
    std::ifstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) docs.push_back(tok->Encode(line, false));
    }
  }
  const auto stream = BuildEvalStream(docs, tok->bos_id(), tok->eos_id(), options.max_tokens + 1);
  nlohmann::json batches = nlohmann::json::array();
  for (const Batch& b : EvalBatches(stream, options.sequence_length, options.batch_sequences, tok->bos_id())) {
    nlohmann::json ids = nlohmann::json::array(), targets = nlohmann::json::array();
    for (int64_t i = 0; i < b.ids_BT.size(0); ++i) {
      const at::Tensor row_ids = b.ids_BT[i].contiguous(), row_targets = b.targets_BT[i].contiguous();
      ids.push_back(std::vector<int64_t>(row_ids.data_ptr<int64_t>(), row_ids.data_ptr<int64_t>() + row_ids.numel()));
      targets.push_back(std::vector<int64_t>(row_targets.data_ptr<int64_t>(),
                                             row_targets.data_ptr<int64_t>() + row_targets.numel()));
    }
    batches.push_back({{"ids", ids}, {"targets", targets}});
  }
  std::ofstream(dir.file("batches.json")) << nlohmann::json{{"batches", batches}}.dump();

  auto child = nmoe::testing::ChildProcess::Start(
      {"/usr/bin/python3", SourceDir() + "/tests/trainer/reference_nll.py", "--checkpoint", dir.file("model"),
       "--batches", dir.file("batches.json"), "--out", dir.file("ref.json")},
      dir.file("python.log"));
  ASSERT_TRUE(child.ok()) << child.status();
  auto code = child->Wait(absl::Seconds(120));
  ASSERT_TRUE(code.ok()) << code.status();
  std::ifstream log(dir.file("python.log"));
  ASSERT_EQ(*code, 0) << std::string(std::istreambuf_iterator<char>(log), {});
  std::ifstream ref_in(dir.file("ref.json"));
  const auto ref = nlohmann::json::parse(ref_in);
  EXPECT_EQ(ref["count"].get<uint64_t>(), result->tokens);
  const double ours = result->nll * static_cast<double>(result->tokens);
  const double theirs = ref["sum"].get<double>();
  EXPECT_NEAR(ours, theirs, 1e-5 * theirs) << "nll ours " << result->nll << " reference "
                                           << theirs / static_cast<double>(result->tokens);
  // The spread weights put the model far from uniform: a check that is not trivially met.
  EXPECT_GT(std::abs(result->nll - std::log(static_cast<double>(tok->vocab_size()))), 0.05);
}

}  // namespace
}  // namespace nmoe::trainer
