// Held-out perplexity: windows and streams, the uniform-model identity, bf16.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <fstream>
#include <map>

#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "model/loss.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/train_test_util.h"
#include "tokenizer/bpe_trainer.h"
#include "trainer/perplexity.h"

namespace nmoe::trainer {
namespace {

using ::testing::ElementsAre;

TEST(EvalStreamTest, SeparatorsAndCut) {
  const std::vector<std::vector<int32_t>> docs = {{5, 6}, {7}, {8, 9, 10}};
  EXPECT_THAT(BuildEvalStream(docs, 1, 2), ElementsAre(1, 5, 6, 2, 1, 7, 2, 1, 8, 9, 10, 2));
  EXPECT_THAT(BuildEvalStream(docs, 1, std::nullopt), ElementsAre(1, 5, 6, 1, 7, 1, 8, 9, 10));
  EXPECT_THAT(BuildEvalStream(docs, 1, 2, 5), ElementsAre(1, 5, 6, 2, 1));
}

TEST(EvalStreamTest, WindowsPredictEveryTokenOnce) {
  std::vector<int32_t> stream;
  for (int i = 0; i < 23; ++i) stream.push_back(i % 7 == 0 ? 1 : 10 + i);  // BOS (1) every 7 tokens
  const auto batches = EvalBatches(stream, /*sequence_length=*/5, /*batch_sequences=*/3, /*bos=*/1);
  // 22 predictions: 4 full windows (batches of 3 and 1) and a tail of 2.
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].ids_BT.size(0), 3);
  EXPECT_EQ(batches[1].ids_BT.size(0), 1);
  EXPECT_EQ(batches[2].ids_BT.sizes(), (std::vector<int64_t>{1, 2}));
  std::vector<int64_t> inputs, targets;
  int64_t predicted = 0;
  for (const auto& b : batches) {
    for (int64_t i = 0; i < b.ids_BT.numel(); ++i) {
      inputs.push_back(b.ids_BT.reshape({-1})[i].item<int64_t>());
      targets.push_back(b.targets_BT.reshape({-1})[i].item<int64_t>());
    }
    predicted += b.predicted_tokens;
  }
  ASSERT_EQ(inputs.size(), 22u);
  int64_t bos_targets = 0;
  for (size_t i = 0; i < 22; ++i) {
    EXPECT_EQ(inputs[i], stream[i]) << i;
    if (stream[i + 1] == 1) {
      EXPECT_EQ(targets[i], model::kIgnoreIndex) << i;
      ++bos_targets;
    } else {
      EXPECT_EQ(targets[i], stream[i + 1]) << i;
    }
  }
  EXPECT_EQ(predicted, 22 - bos_targets);
  EXPECT_TRUE(EvalBatches({1}, 5, 3, 1).empty());
}

tokenizer::Tokenizer SmallTokenizer(const std::vector<std::string>& lines) {
  tokenizer::BpeTrainerOptions options;
  options.vocab_size = 320;
  auto trainer = tokenizer::BpeTrainer::Create(options);
  for (const auto& l : lines) trainer->AddText(l);
  return *tokenizer::Tokenizer::FromJson(*trainer->Train());
}

class PerplexityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lines_ = {"The quick brown fox jumps over the lazy dog.", "Select the cell range and choose Format - Cells.",
              "Press Enter to apply the changes to the document.", "Le renard brun saute par-dessus le chien."};
    std::ofstream out(dir_.file("heldout.txt"));
    for (const auto& l : lines_) out << l << "\n";
    tok_ = std::make_unique<tokenizer::Tokenizer>(SmallTokenizer(lines_));
  }
  nmoe::testing::TempDir dir_;
  std::vector<std::string> lines_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
};

TEST_F(PerplexityTest, ZeroModelIsUniform) {
  auto lm = *model::NewRandomModel(testing::TinyModelConfig(tok_->vocab_size()), 1);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : lm->parameters()) p.zero_();  // zero embeddings -> zero logits
  }
  PerplexityOptions options;
  options.sequence_length = 16;
  auto r = EvaluateLanguage(*lm, *tok_, "en", {dir_.file("heldout.txt")}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->documents, 4u);
  EXPECT_NEAR(r->perplexity, tok_->vocab_size(), 1e-3);
  EXPECT_NEAR(r->nll, std::log(static_cast<double>(tok_->vocab_size())), 1e-6);

  options.max_tokens = 10;
  auto cut = EvaluateLanguage(*lm, *tok_, "en", {dir_.file("heldout.txt")}, options);
  ASSERT_TRUE(cut.ok());
  EXPECT_LE(cut->tokens, 10u);
  EXPECT_GE(cut->tokens, 9u);  // at most one BOS target skipped in the first 10
}

TEST_F(PerplexityTest, Bf16AutocastIsClose) {
  auto lm = *model::NewRandomModel(testing::TinyModelConfig(tok_->vocab_size()), 2);
  PerplexityOptions options;
  options.sequence_length = 16;
  auto fp32 = EvaluateLanguage(*lm, *tok_, "en", {dir_.file("heldout.txt")}, options);
  options.bf16_autocast = true;
  auto bf16 = EvaluateLanguage(*lm, *tok_, "en", {dir_.file("heldout.txt")}, options);
  ASSERT_TRUE(fp32.ok() && bf16.ok());
  EXPECT_EQ(fp32->tokens, bf16->tokens);
  EXPECT_NEAR(bf16->nll, fp32->nll, 0.01 * fp32->nll);
}

TEST_F(PerplexityTest, ErrorsNameTheProblem) {
  auto lm = *model::NewRandomModel(testing::TinyModelConfig(64), 1);  // vocabulary smaller than the tokenizer's
  PerplexityOptions options;
  auto r = EvaluateLanguage(*lm, *tok_, "en", {dir_.file("heldout.txt")}, options);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  auto missing = EvaluateLanguage(*lm, *tok_, "en", {dir_.file("nope.txt")}, options);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  std::ofstream(dir_.file("empty.txt")) << "\n";
  auto lm2 = *model::NewRandomModel(testing::TinyModelConfig(tok_->vocab_size()), 1);
  auto empty = EvaluateLanguage(*lm2, *tok_, "en", {dir_.file("empty.txt")}, options);
  EXPECT_TRUE(absl::IsInvalidArgument(empty.status())) << empty.status();
}

TEST(PerplexityJsonTest, Format) {
  LanguagePerplexity en{"en", 3, 100, 2.0, std::exp(2.0)};
  const auto j = nlohmann::json::parse(PerplexityJson({en}));
  EXPECT_EQ(j["en"]["tokens"], 100);
  EXPECT_DOUBLE_EQ(j["en"]["perplexity"].get<double>(), std::exp(2.0));
  EXPECT_EQ(PerplexityTable({en}).size(), 2u);
}

}  // namespace
}  // namespace nmoe::trainer

namespace nmoe::trainer {
namespace {

TEST(UnigramTest, AddOneSmoothing) {
  UnigramCounts u;
  u.counts.assign(4, 0);
  for (int32_t id : {0, 0, 0, 1, 2, 2}) u.Add(id);
  EXPECT_EQ(u.total, 6u);
  EXPECT_NEAR(u.Nll(0), -std::log(4.0 / 10.0), 1e-12);
  EXPECT_NEAR(u.Nll(3), -std::log(1.0 / 10.0), 1e-12);
  // Targets 0, 3 and an ignored one: exp(mean nll) over the two.
  Batch b;
  b.ids_BT = at::zeros({1, 3}, at::kLong);
  b.targets_BT = at::tensor(std::vector<int64_t>{0, model::kIgnoreIndex, 3}, at::kLong).view({1, 3});
  EXPECT_NEAR(UnigramPerplexity(u, {b}), std::exp(0.5 * (u.Nll(0) + u.Nll(3))), 1e-9);
}

}  // namespace
}  // namespace nmoe::trainer
