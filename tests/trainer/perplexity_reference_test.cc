// Held-out perplexity against an independent reference: the same checkpoint and
// windows through tests/trainer/reference_nll.py (the Python decoder of
// tests/model/reference_llama.py in float64, Debian's /usr/bin/python3 with torch 1.13).
// Required: the summed NLL agrees to 1e-5 relative, the token counts exactly; for an MoE
// model also the experts' assignment counts per layer, exactly.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/train_test_util.h"
#include "tokenizer/bpe_trainer.h"
#include "trainer/moe_model.h"
#include "trainer/perplexity.h"
#include "trainer/routing_stats.h"

namespace nmoe::trainer {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// The German sample text, a tokenizer trained on the sample's German training text and
// a tiny model with weights spread wider than the init so the NLL is far from uniform.
struct RefCase {
  std::string text = SourceDir() + "/tests/data/corpus/de/validation.txt";
  std::optional<tokenizer::Tokenizer> tok;
  std::shared_ptr<model::CausalLm> lm;
};

RefCase MakeCase() {
  RefCase s;
  tokenizer::BpeTrainerOptions bpe;
  bpe.vocab_size = 512;
  auto trainer = tokenizer::BpeTrainer::Create(bpe);
  {
    std::ifstream in(SourceDir() + "/tests/data/corpus/de/train.txt");
    std::string line;
    while (std::getline(in, line)) trainer->AddText(line);
  }
  s.tok.emplace(*tokenizer::Tokenizer::FromJson(*trainer->Train()));
  model::ModelConfig config = testing::TinyModelConfig(s.tok->vocab_size());
  s.lm = *model::NewRandomModel(config, 21);
  {
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(22);
    for (auto& p : s.lm->parameters()) {
      if (p.dim() == 2) p.mul_(5.0);
      else p.add_(at::empty(p.sizes()).normal_(0.0, 0.1, gen));
    }
  }
  return s;
}

// Rebuilds the evaluation's windows from the text and runs reference_nll.py on them.
nlohmann::json RunReference(const nmoe::testing::TempDir& dir, const RefCase& s, const PerplexityOptions& options) {
  std::vector<std::vector<int32_t>> docs;
  {
    std::ifstream in(s.text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) docs.push_back(s.tok->Encode(line, false));
    }
  }
  const auto stream = BuildEvalStream(docs, s.tok->bos_id(), s.tok->eos_id(), options.max_tokens + 1);
  nlohmann::json batches = nlohmann::json::array();
  for (const Batch& b : EvalBatches(stream, options.sequence_length, options.batch_sequences, s.tok->bos_id())) {
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
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  auto code = child->Wait(absl::Seconds(120));
  EXPECT_TRUE(code.ok()) << code.status();
  std::ifstream log(dir.file("python.log"));
  EXPECT_EQ(code.value_or(-1), 0) << std::string(std::istreambuf_iterator<char>(log), {});
  std::ifstream ref_in(dir.file("ref.json"));
  return nlohmann::json::parse(ref_in);
}

PerplexityOptions Options() {
  PerplexityOptions options;
  options.sequence_length = 48;
  options.max_tokens = 700;
  options.batch_sequences = 4;
  return options;
}

TEST(PerplexityReferenceTest, MatchesPythonReference) {
  nmoe::testing::TempDir dir;
  RefCase s = MakeCase();
  ASSERT_TRUE(model::SavePretrained(*s.lm, dir.file("model")).ok());
  const PerplexityOptions options = Options();
  auto result = EvaluateLanguage(*s.lm, *s.tok, "de", {s.text}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_GT(result->tokens, 600u);
  const nlohmann::json ref = RunReference(dir, s, options);
  ASSERT_FALSE(ref.is_null());
  EXPECT_EQ(ref["count"].get<uint64_t>(), result->tokens);
  const double ours = result->nll * static_cast<double>(result->tokens);
  const double theirs = ref["sum"].get<double>();
  EXPECT_NEAR(ours, theirs, 1e-5 * theirs) << "nll ours " << result->nll << " reference "
                                           << theirs / static_cast<double>(result->tokens);
  // The spread weights put the model far from uniform: a check that is not trivially met.
  EXPECT_GT(std::abs(result->nll - std::log(static_cast<double>(s.tok->vocab_size()))), 0.05);
}

// An MoE model (top-2 of 3 experts in layer 0, 2 experts in layer 3, experts perturbed
// apart): the same NLL and, per MoE layer, the same number of (token, slot) pairs per
// expert as the reference's dense MoE formulation choosing its own top-k.
TEST(PerplexityReferenceTest, MoeNllAndRoutingMatchPythonReference) {
  nmoe::testing::TempDir dir;
  RefCase s = MakeCase();
  auto moe = BuildMoeModel(*s.lm, {3, 1, 1, 2}, /*top_k=*/2, /*seed=*/4);
  ASSERT_TRUE(moe.ok()) << moe.status();
  {
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(23);
    for (auto& item : (*moe)->named_parameters()) {
      if (item.key().find("experts.") != std::string::npos) item.value().add_(at::empty(item.value().sizes()).normal_(0.0, 0.05, gen));
      if (item.key().find("router") != std::string::npos) item.value().mul_(8.0);
    }
  }
  ASSERT_TRUE(model::SavePretrained(**moe, dir.file("model")).ok());
  const PerplexityOptions options = Options();
  RoutingCounter counter(**moe);
  auto result = EvaluateLanguage(**moe, *s.tok, "de", {s.text}, options, nullptr, &counter);
  ASSERT_TRUE(result.ok()) << result.status();
  const nlohmann::json ref = RunReference(dir, s, options);
  ASSERT_FALSE(ref.is_null());
  EXPECT_EQ(ref["count"].get<uint64_t>(), result->tokens);
  const double theirs = ref["sum"].get<double>();
  EXPECT_NEAR(result->nll * static_cast<double>(result->tokens), theirs, 1e-5 * theirs);
  ASSERT_EQ(counter.counts().size(), 2u);
  ASSERT_EQ(ref["routing"].size(), 2u) << ref.dump();
  for (const LayerRoutingCounts& c : counter.counts()) {
    const std::vector<uint64_t> theirs_n = ref["routing"][std::to_string(c.layer)].get<std::vector<uint64_t>>();
    EXPECT_EQ(c.by_group.at("de"), theirs_n) << "layer " << c.layer;
    uint64_t sum = 0;
    for (uint64_t n : theirs_n) sum += n;
    EXPECT_GT(sum, 2u * 600u);  // every input token, twice (top-2)
  }
  // Layer 0 chooses 2 of 3: the routing is not the trivial all-experts case there.
  const std::vector<uint64_t>& first = counter.counts()[0].by_group.at("de");
  EXPECT_NE(first[0], first[1]);
}

}  // namespace
}  // namespace nmoe::trainer
