// The MoE MLP (model/moe_mlp.h) and its config keys, in-process. Numerics against the
// Python reference are in reference_test.cc (MoE variants).
#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/checkpoint.h"
#include "model/moe_losses.h"
#include "model/moe_mlp.h"
#include "tests/model/tiny_config.h"
#include "tests/support/temp_dir.h"

namespace nmoe::model {
namespace {

using ::testing::HasSubstr;
using testing::TinyConfig;

ModelConfig MoeConfig() {
  ModelConfig c = TinyConfig(Architecture::kLlama, /*tied=*/true);
  c.experts_per_layer = {1, 4, 2};
  return c;
}

TEST(MoeConfigTest, RoundTripsAndCountsParameters) {
  const ModelConfig c = MoeConfig();
  auto json = ModelConfigToJson(c);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"nmoe_experts_per_layer\""));
  auto back = ParseModelConfig(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->experts_per_layer, (std::vector<int64_t>{1, 4, 2}));
  EXPECT_EQ(back->num_experts_per_tok, 2);
  EXPECT_TRUE(back->is_moe());
  // Dense configs stay free of MoE keys.
  auto dense = ModelConfigToJson(TinyConfig());
  ASSERT_TRUE(dense.ok());
  EXPECT_THAT(*dense, ::testing::Not(HasSubstr("experts")));
  // Parameters: the dense model plus (n_l - 1) MLPs and a D x n_l router per MoE layer.
  auto model = NewRandomModel(c, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  int64_t counted = 0;
  for (const auto& p : (*model)->parameters()) counted += p.numel();
  EXPECT_EQ(c.NumParameters(), counted);
  const int64_t mlp = 3 * 64 * 96;
  EXPECT_EQ(c.NumParameters() - TinyConfig(Architecture::kLlama, true).NumParameters(), 4 * mlp + 64 * 6);
}

TEST(MoeConfigTest, RejectsBadExpertLists) {
  ModelConfig c = MoeConfig();
  c.experts_per_layer = {1, 2};
  EXPECT_THAT(std::string(ValidateModelConfig(c).message()), HasSubstr("2 entries for 3 layers"));
  c.experts_per_layer = {1, 0, 2};
  EXPECT_THAT(std::string(ValidateModelConfig(c).message()), HasSubstr("nmoe_experts_per_layer[1]"));
  c.experts_per_layer = {1, 2, 2};
  c.num_experts_per_tok = 0;
  EXPECT_THAT(std::string(ValidateModelConfig(c).message()), HasSubstr("num_experts_per_tok"));
  auto text = ModelConfigToJson(TinyConfig());
  ASSERT_TRUE(text.ok());
  std::string bad = *text;
  bad.insert(bad.rfind('}'), ",\"nmoe_experts_per_layer\": 3");
  EXPECT_THAT(std::string(ParseModelConfig(bad).status().message()), HasSubstr("must be a list"));
}

// Upcycled experts are copies of the dense MLP and the routing weights sum to 1, so the
// MoE layer computes exactly what the dense one did -- whatever the router says.
TEST(MoeMlpTest, UpcycledLayerEqualsDenseMlp) {
  const ModelConfig c = TinyConfig();
  SwiGluMlp dense(c, at::TensorOptions().dtype(at::kFloat));
  at::Generator gen = at::detail::createCPUGenerator(3);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : dense.parameters()) p.normal_(0.0, 0.1, gen);
  }
  MoeMlp moe(c, 5, 2, at::TensorOptions().dtype(at::kFloat));
  moe.UpcycleFrom(dense, 11);
  const at::Tensor x = at::randn({2, 7, 64}, gen);
  LayerContext ctx;
  torch::NoGradGuard no_grad;
  const at::Tensor want = dense.Forward(x, ctx);
  const at::Tensor got = moe.Forward(x, ctx);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-5 * want.abs().max().item<double>());
  // Router: Xavier-normal, std sqrt(2 / (64 + 5)) ~ 0.170; seeded.
  const double std = moe.router().weight_OI().std().item<double>();
  EXPECT_NEAR(std, 0.170, 0.03);
  MoeMlp again(c, 5, 2, at::TensorOptions().dtype(at::kFloat));
  again.UpcycleFrom(dense, 11);
  EXPECT_TRUE(at::equal(again.router().weight_OI(), moe.router().weight_OI()));
}

// The dispatch is checked against a dense formulation here too: each token's output is
// the weighted sum of its top-k experts computed on all tokens.
TEST(MoeMlpTest, DispatchEqualsDenseMixture) {
  const ModelConfig c = TinyConfig();
  MoeMlp moe(c, 4, 2, at::TensorOptions().dtype(at::kFloat));
  at::Generator gen = at::detail::createCPUGenerator(5);
  torch::NoGradGuard no_grad;
  for (auto& p : moe.parameters()) p.normal_(0.0, 0.2, gen);
  const at::Tensor x = at::randn({3, 5, 64}, gen);
  LayerContext ctx;
  moe.set_record_routing(true);
  const at::Tensor got = moe.Forward(x, ctx);
  const RouterOutputs& r = moe.last_routing();
  const at::Tensor x_ND = x.reshape({-1, 64});
  at::Tensor want = at::zeros_like(x_ND);
  for (int64_t n = 0; n < x_ND.size(0); ++n) {
    const at::Tensor top = r.probs_NE[n].index_select(0, r.experts_NK[n]);
    for (int64_t j = 0; j < 2; ++j) {
      const int64_t e = r.experts_NK[n][j].item<int64_t>();
      want[n] += moe.expert(e).Forward(x_ND[n].unsqueeze(0), ctx)[0] * (top[j] / top.sum());
    }
  }
  EXPECT_LT((got.reshape({-1, 64}) - want).abs().max().item<double>(), 1e-5);
}

TEST(MoeMlpTest, LossesReachTheRouterAndRespectPadding) {
  ModelConfig c = MoeConfig();
  auto model = NewRandomModel(c, 2);
  ASSERT_TRUE(model.ok());
  std::vector<MoeMlp*> layers = MoeLayers(**model);
  ASSERT_EQ(layers.size(), 2u);
  for (MoeMlp* l : layers) l->set_record_routing(true);
  at::Generator gen = at::detail::createCPUGenerator(4);
  const at::Tensor ids = at::randint(0, 256, {2, 6}, gen, at::kLong);
  at::Tensor mask = at::ones({2, 6}, at::kLong);
  mask[1].narrow(0, 3, 3).zero_();
  ForwardOptions options;
  options.mask_BT = mask;
  ASSERT_TRUE((*model)->Forward(ids, options).ok());
  const RouterOutputs& r = layers[0]->last_routing();
  ASSERT_TRUE(r.mask_N.defined());
  EXPECT_EQ(r.mask_N.sum().item<int64_t>(), 9);
  at::Tensor loss = SwitchBalanceLoss(r) + RouterZLoss(r) + LprLoss(r, at::ones({12}, at::kLong));
  loss.backward();
  EXPECT_GT(layers[0]->router().weight_OI().grad().abs().sum().item<double>(), 0.0);
  // No old-language token: LPR is 0 (not NaN).
  EXPECT_EQ(LprLoss(r, at::zeros({12}, at::kLong)).item<double>(), 0.0);
  EXPECT_THROW(LprLoss(r, at::zeros({5}, at::kLong)), c10::Error);
}

// The toy case of the method's stage 2: gradient steps on the routers alone with the
// LPR loss on "old-language" tokens send those tokens to expert 0.
TEST(MoeMlpTest, LprTrainingSendsOldLanguageTokensToExpertZero) {
  ModelConfig c = MoeConfig();  // layers with 4 and 2 experts, top-2
  auto model = NewRandomModel(c, 5);
  ASSERT_TRUE(model.ok());
  std::vector<MoeMlp*> layers = MoeLayers(**model);
  for (MoeMlp* l : layers) l->set_record_routing(true);
  at::Generator gen = at::detail::createCPUGenerator(6);
  const at::Tensor ids = at::randint(0, 256, {4, 8}, gen, at::kLong);
  at::Tensor old_N = at::zeros({32}, at::kLong);
  old_N.narrow(0, 0, 16).fill_(1);  // the first two sequences are "old language"
  const at::Tensor is_old = old_N.to(at::kBool);
  auto old_share_at_zero = [&](const RouterOutputs& r) {
    // Mean router probability of expert 0 over old tokens, and how many old tokens chose it.
    const at::Tensor p0 = r.probs_NE.select(1, 0).masked_select(is_old);
    const at::Tensor chose0 = (r.experts_NK == 0).any(1).masked_select(is_old);
    return std::make_pair(p0.mean().item<double>(), chose0.sum().item<int64_t>());
  };
  double p0_before = 0;
  for (int step = 0; step < 60; ++step) {
    ASSERT_TRUE((*model)->Forward(ids, {}).ok());
    at::Tensor loss = at::zeros({}, at::kFloat);
    for (MoeMlp* l : layers) loss = loss + LprLoss(l->last_routing(), old_N);
    if (step == 0) p0_before = old_share_at_zero(layers[0]->last_routing()).first;
    loss.backward();
    at::NoGradGuard no_grad;
    for (MoeMlp* l : layers) {
      at::Tensor w = l->router().weight_OI();
      w.sub_(w.grad() * 2.0);
      w.mutable_grad().zero_();
    }
  }
  ASSERT_TRUE((*model)->Forward(ids, {}).ok());
  const auto [p0_after, chose0] = old_share_at_zero(layers[0]->last_routing());
  EXPECT_LT(p0_before, 0.5);  // about 1/4 at the random Xavier-normal start
  EXPECT_GT(p0_after, 0.9);
  EXPECT_EQ(chose0, 16);  // every old token routes through expert 0
}

TEST(MoeCheckpointTest, SavesAndLoadsExperts) {
  nmoe::testing::TempDir dir;
  auto model = NewRandomModel(MoeConfig(), 9);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(SavePretrained(**model, dir.file("moe")).ok());
  auto loaded = LoadPretrained(dir.file("moe"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->model->config().experts_per_layer, (std::vector<int64_t>{1, 4, 2}));
  auto a = (*model)->named_parameters();
  auto b = loaded->model->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  ASSERT_TRUE(b.contains("model.layers.1.mlp.experts.3.down_proj.weight"));
  ASSERT_TRUE(b.contains("model.layers.1.mlp.router.weight"));
  for (const auto& item : a) EXPECT_TRUE(at::equal(item.value(), b[item.key()])) << item.key();
}

}  // namespace
}  // namespace nmoe::model
