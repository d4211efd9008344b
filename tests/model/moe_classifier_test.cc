// LayerMoE's per-sequence router classifier in MoeMlp (model/moe_mlp.h): its config key,
// the gate it puts in front of the router, its causal running mean, and its loss.
#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <memory>

#include "model/causal_lm.h"
#include "model/checkpoint.h"
#include "model/moe_losses.h"
#include "model/moe_mlp.h"
#include "tests/model/tiny_config.h"

namespace nmoe::model {
namespace {

using ::testing::HasSubstr;
using testing::TinyConfig;

const at::TensorOptions kFloat = at::TensorOptions().dtype(at::kFloat);

ModelConfig ClassifierConfig() {
  ModelConfig c = TinyConfig(Architecture::kLlama, /*tied=*/true);
  c.experts_per_layer = {1, 4, 2};
  c.classifier_layers = {1, 2};
  return c;
}

// An MoE layer with distinct random experts and router (and classifier).
std::shared_ptr<MoeMlp> RandomLayer(const ModelConfig& c, int64_t experts, uint64_t seed) {
  auto moe = std::make_shared<MoeMlp>(c, experts, 2, kFloat, /*sequence_classifier=*/true);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : moe->parameters()) p.normal_(0.0, 0.2, gen);
  return moe;
}

TEST(MoeClassifierConfigTest, RoundTripsCountsAndRejectsBadLayers) {
  const ModelConfig c = ClassifierConfig();
  auto json = ModelConfigToJson(c);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"nmoe_classifier_layers\""));
  auto back = ParseModelConfig(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->classifier_layers, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(back->HasClassifier(2));
  EXPECT_FALSE(back->HasClassifier(0));
  // Parameters: a [2, D] classifier per classifier layer, and the model agrees.
  auto model = NewRandomModel(c, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  int64_t counted = 0;
  for (const auto& p : (*model)->parameters()) counted += p.numel();
  EXPECT_EQ(c.NumParameters(), counted);
  ModelConfig without = c;
  without.classifier_layers.clear();
  EXPECT_EQ(c.NumParameters() - without.NumParameters(), 2 * 2 * 64);
  EXPECT_TRUE((*model)->named_parameters().contains("model.layers.1.mlp.classifier.weight"));
  EXPECT_FALSE((*model)->named_parameters().contains("model.layers.0.mlp.classifier.weight"));

  ModelConfig bad = c;
  bad.classifier_layers = {0};
  EXPECT_THAT(std::string(ValidateModelConfig(bad).message()), HasSubstr("layer 0 has no MoE"));
  bad.classifier_layers = {3};
  EXPECT_THAT(std::string(ValidateModelConfig(bad).message()), HasSubstr("is not a layer"));
  bad.classifier_layers = {2, 1};
  EXPECT_THAT(std::string(ValidateModelConfig(bad).message()), HasSubstr("ascending"));
  std::string text = *json;
  const size_t at = text.find("\"nmoe_classifier_layers\"");
  const size_t end = text.find(']', at);
  text.replace(at, end - at + 1, "\"nmoe_classifier_layers\": 1");
  EXPECT_THAT(std::string(ParseModelConfig(text).status().message()), HasSubstr("must be a list"));
}

// Tokens labelled old get exactly expert 0's output; the others get their top-2 mixture
// as without a classifier, and their routing rows are untouched.
TEST(MoeClassifierTest, OldTokensUseExpertZeroAlone) {
  const ModelConfig c = TinyConfig();
  const std::shared_ptr<MoeMlp> layer = RandomLayer(c, 4, 21);
  MoeMlp& moe = *layer;
  at::Generator gen = at::detail::createCPUGenerator(22);
  const at::Tensor x = at::randn({2, 5, 64}, gen);
  at::Tensor old_N = at::zeros({10}, at::kBool);
  old_N.narrow(0, 0, 5).fill_(true);  // the first sequence is old
  old_N[7] = true;                    // and one token of the second
  LayerContext ctx;
  torch::NoGradGuard no_grad;
  moe.set_record_routing(true);
  moe.set_forced_old(at::zeros({10}, at::kBool));
  const at::Tensor routed = moe.Forward(x, ctx).reshape({-1, 64});
  const at::Tensor experts_routed = moe.last_routing().experts_NK.clone();
  moe.set_forced_old(old_N);
  const at::Tensor got = moe.Forward(x, ctx).reshape({-1, 64});
  const RouterOutputs& r = moe.last_routing();
  const at::Tensor expert0 = moe.expert(0).Forward(x.reshape({-1, 64}), ctx);
  // Routed tokens: the same arithmetic on differently sized expert batches (fp32 GEMM
  // blocking differs), hence a relative tolerance.
  const double tolerance = 1e-5 * routed.abs().max().item<double>();
  for (int64_t n = 0; n < 10; ++n) {
    const at::Tensor want = old_N[n].item<bool>() ? expert0[n] : routed[n];
    EXPECT_LT((got[n] - want).abs().max().item<double>(), tolerance) << "token " << n;
    if (old_N[n].item<bool>()) {
      EXPECT_EQ(r.experts_NK[n].sum().item<int64_t>(), 0) << "token " << n;
    } else {
      EXPECT_TRUE(at::equal(r.experts_NK[n], experts_routed[n])) << "token " << n;
    }
  }
  EXPECT_TRUE(at::equal(r.expert0_only_N, old_N));
  // Back to the classifier's own prediction once the labels are cleared.
  moe.set_forced_old(at::Tensor());
  moe.Forward(x, ctx);
  const at::Tensor& logits = moe.last_routing().classifier_logits_N2;
  EXPECT_TRUE(at::equal(moe.last_routing().expert0_only_N, logits.select(1, 0) > logits.select(1, 1)));
}

// Hand-worked: with classifier rows (e_0, 0) the decision is "old" exactly where the
// running mean of feature 0 over the sequence's valid tokens so far is > 0.
TEST(MoeClassifierTest, DecidesOnTheCausalMeanOfValidTokens) {
  const ModelConfig c = TinyConfig();
  const std::shared_ptr<MoeMlp> layer = RandomLayer(c, 3, 23);
  MoeMlp& moe = *layer;
  {
    torch::NoGradGuard no_grad;
    at::Tensor w = moe.classifier()->weight_OI();
    w.zero_();
    w[0][0] = 1.0;
  }
  // Feature 0 of the single sequence: 1, -3, 1, 4, 9 (token 4 is padding).
  at::Tensor x = at::zeros({1, 5, 64});
  const float f0[5] = {1, -3, 1, 4, 9};
  for (int t = 0; t < 5; ++t) x[0][t][0] = f0[t];
  // Running means: 1, -1, -1/3, 3/4; padding keeps the last valid mean (3/4).
  at::Tensor mask = at::ones({1, 5}, at::kLong);
  mask[0][4] = 0;
  LayerContext ctx;
  ctx.mask_BT = mask;
  torch::NoGradGuard no_grad;
  moe.set_record_routing(true);
  moe.Forward(x, ctx);
  const RouterOutputs& r = moe.last_routing();
  const std::vector<bool> want = {true, false, false, true, true};
  const double logit0[5] = {1.0, -1.0, -1.0 / 3, 0.75, 0.75};
  for (int t = 0; t < 5; ++t) {
    EXPECT_EQ(r.expert0_only_N[t].item<bool>(), want[static_cast<size_t>(t)]) << "token " << t;
    EXPECT_NEAR(r.classifier_logits_N2[t][0].item<double>(), logit0[t], 1e-6) << "token " << t;
  }
  // Causal: a later token that flips its own decision changes none before it.
  at::Tensor later = x.clone();
  later[0][3][0] = -100;
  const at::Tensor a = moe.Forward(x, ctx);
  const at::Tensor b = moe.Forward(later, ctx);
  EXPECT_FALSE(moe.last_routing().expert0_only_N[3].item<bool>());
  EXPECT_TRUE(at::equal(moe.last_routing().expert0_only_N.narrow(0, 0, 3),
                        at::tensor({1, 0, 0}, at::kLong).to(at::kBool)));
  EXPECT_LT((a.narrow(1, 0, 3) - b.narrow(1, 0, 3)).abs().max().item<double>(),
            1e-5 * a.abs().max().item<double>());
}

// The router's losses skip the tokens the classifier took; its own loss is the mean
// cross-entropy, checked by hand.
TEST(MoeClassifierTest, LossesAndGradients) {
  const ModelConfig c = TinyConfig();
  const std::shared_ptr<MoeMlp> layer = RandomLayer(c, 4, 24);
  MoeMlp& moe = *layer;
  at::Generator gen = at::detail::createCPUGenerator(25);
  const at::Tensor x = at::randn({1, 6, 64}, gen);
  LayerContext ctx;
  moe.set_record_routing(true);
  moe.set_forced_old(at::ones({6}, at::kBool));  // every token old: the router is unused
  moe.Forward(x, ctx);
  RouterOutputs r = moe.last_routing();
  EXPECT_EQ(SwitchBalanceLoss(r).item<double>(), 0.0);
  EXPECT_EQ(RouterZLoss(r).item<double>(), 0.0);
  EXPECT_EQ(LprLoss(r, at::ones({6}, at::kLong)).item<double>(), 0.0);

  const at::Tensor labels = at::tensor({1, 1, 0, 0, 1, 0}, at::kLong);
  const at::Tensor loss = SequenceClassifierLoss(r, labels);
  const at::Tensor logits = r.classifier_logits_N2.detach();
  double want = 0;
  for (int64_t n = 0; n < 6; ++n) {
    const double l0 = logits[n][0].item<double>(), l1 = logits[n][1].item<double>();
    const double lse = std::log(std::exp(l0) + std::exp(l1));
    want += lse - (labels[n].item<int64_t>() == 1 ? l0 : l1);
  }
  EXPECT_NEAR(loss.item<double>(), want / 6, 1e-5);
  loss.backward();
  EXPECT_GT(moe.classifier()->weight_OI().grad().abs().sum().item<double>(), 0.0);
  EXPECT_THROW(SequenceClassifierLoss(r, at::ones({5}, at::kLong)), c10::Error);
}

// Training only the classifiers of a model on two "languages" (disjoint sets of 8 token
// ids, labelled old and new) teaches them to tell the languages apart, so at
// evaluation, without labels, the old language's tokens go to expert 0 alone.
TEST(MoeClassifierTest, LearnsToSendTheOldLanguageToExpertZero) {
  auto model = NewRandomModel(ClassifierConfig(), 26);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<MoeMlp*> layers = MoeLayers(**model);
  ASSERT_EQ(layers.size(), 2u);
  for (auto& p : (*model)->parameters()) p.set_requires_grad(false);
  for (MoeMlp* l : layers) {
    l->set_record_routing(true);
    at::Tensor w = l->classifier()->weight_OI();
    w.set_requires_grad(true);
  }
  at::Generator gen = at::detail::createCPUGenerator(27);
  auto batch = [&](at::Tensor& old_N) {
    at::Tensor ids = at::randint(0, 8, {8, 12}, gen, at::kLong);
    ids.narrow(0, 4, 4).add_(8);  // sequences 4..7: the new language's ids
    old_N = at::zeros({8, 12}, at::kBool);
    old_N.narrow(0, 0, 4).fill_(true);
    old_N = old_N.reshape({-1});
    return ids;
  };
  for (int step = 0; step < 80; ++step) {
    at::Tensor old_N;
    const at::Tensor ids = batch(old_N);
    for (MoeMlp* l : layers) l->set_forced_old(old_N);
    ASSERT_TRUE((*model)->Forward(ids, {}).ok());
    at::Tensor loss = at::zeros({}, at::kFloat);
    for (MoeMlp* l : layers) loss = loss + SequenceClassifierLoss(l->last_routing(), old_N);
    loss.backward();
    torch::NoGradGuard no_grad;
    for (MoeMlp* l : layers) {
      at::Tensor w = l->classifier()->weight_OI();
      w.sub_(w.grad() * 0.5);
      w.mutable_grad().zero_();
    }
  }
  at::Tensor old_N;
  const at::Tensor ids = batch(old_N);
  for (MoeMlp* l : layers) l->set_forced_old(at::Tensor());
  torch::NoGradGuard no_grad;
  ASSERT_TRUE((*model)->Forward(ids, {}).ok());
  // Early positions see few tokens (one token's hidden state is a weak cue); from the
  // sixth token on, the running mean separates the languages.
  const at::Tensor later_BT = (at::arange(12) >= 5).unsqueeze(0).expand({8, 12});
  for (MoeMlp* l : layers) {
    const at::Tensor right_BT = l->last_routing().expert0_only_N.eq(old_N).reshape({8, 12});
    const double overall = right_BT.to(at::kDouble).mean().item<double>();
    const double later = right_BT.masked_select(later_BT).to(at::kDouble).mean().item<double>();
    EXPECT_GT(overall, 0.8) << "a classifier layer";
    EXPECT_GT(later, 0.95) << "a classifier layer";
  }
}

}  // namespace
}  // namespace nmoe::model
