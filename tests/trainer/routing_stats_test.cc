// Routing statistics (trainer/routing_stats.h): hand-worked counts and shares, and the
// counter on a real MoE model (every valid token counted once per slot, per layer).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/checkpoint.h"
#include "tests/trainer/train_test_util.h"
#include "trainer/moe_model.h"
#include "trainer/routing_stats.h"

namespace nmoe::trainer {
namespace {

using ::testing::ElementsAre;

TEST(CountAssignmentsTest, CountsEverySlotOfValidTokens) {
  // 4 tokens, top-2 of 3 experts; token 2 is padding.
  const at::Tensor experts_NK = at::tensor({0, 2, 1, 0, 2, 2, 2, 1}, at::kLong).reshape({4, 2});
  const at::Tensor mask_N = at::tensor({1, 1, 0, 1}, at::kLong).to(at::kBool);
  auto all = CountAssignments(experts_NK, {}, 3);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ElementsAre(2u, 2u, 4u));
  auto valid = CountAssignments(experts_NK, mask_N, 3);
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_THAT(*valid, ElementsAre(2u, 2u, 2u));
  EXPECT_TRUE(absl::IsInvalidArgument(CountAssignments(experts_NK, {}, 2).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CountAssignments(experts_NK, at::ones({3}, at::kBool), 3).status()));
}

// A sequence classifier's "old" token fills its k slots at expert 0 (AddRouting counts
// them from the recorded rows) but is one token using expert 0. Hand-worked, k = 2:
//   en (old): tokens a, b sent to expert 0 alone, c routed to {0, 1}, d to {1, 2}:
//             pairs {5, 2, 1}, 2 classifier tokens; 3 of 4 tokens use expert 0;
//   el (new): e sent alone, f routed to {1, 2}: pairs {2, 1, 1}, 1 classifier token.
TEST(RoutingProtosTest, ClassifierTokensCountOnceAtExpertZero) {
  model::RouterOutputs en;
  en.experts_NK = at::tensor({0, 0, 0, 0, 0, 1, 1, 2}, at::kLong).reshape({4, 2});
  en.expert0_only_N = at::tensor({1, 1, 0, 0}, at::kLong).to(at::kBool);
  en.num_experts = 3;
  model::RouterOutputs el;
  el.experts_NK = at::tensor({0, 0, 1, 2, 0, 0}, at::kLong).reshape({3, 2});
  el.expert0_only_N = at::tensor({1, 0, 1}, at::kLong).to(at::kBool);
  el.mask_N = at::tensor({1, 1, 0}, at::kLong).to(at::kBool);  // the third is padding
  el.num_experts = 3;
  LayerRoutingCounts c;
  c.num_experts = 3;
  c.top_k = 2;
  c.has_classifier = true;
  ASSERT_TRUE(AddRouting(en, "en", c).ok());
  ASSERT_TRUE(AddRouting(el, "el", c).ok());
  EXPECT_THAT(c.by_group.at("en"), ElementsAre(5u, 2u, 1u));
  EXPECT_THAT(c.by_group.at("el"), ElementsAre(2u, 1u, 1u));
  EXPECT_EQ(c.classifier_old.at("en"), 2u);
  EXPECT_EQ(c.classifier_old.at("el"), 1u);
  const v1::LayerRouting l = RoutingProtos({c}, {"en"})[0];
  EXPECT_DOUBLE_EQ(l.old_language_expert0_share(), 0.75);
  EXPECT_DOUBLE_EQ(l.classifier_old_share().at("en"), 0.5);
  EXPECT_DOUBLE_EQ(l.classifier_old_share().at("el"), 0.5);
  EXPECT_DOUBLE_EQ(l.experts(0).token_share(), 7.0 / 12);
  // Layers without a classifier report no classifier shares.
  c.has_classifier = false;
  EXPECT_TRUE(RoutingProtos({c}, {"en"})[0].classifier_old_share().empty());
}

TEST(RoutingProtosTest, SharesOldLanguageShareAndDeadExperts) {
  LayerRoutingCounts c;
  c.layer = 5;
  c.num_experts = 4;
  c.top_k = 2;
  c.by_group["en"] = {3, 3, 2, 0};  // old language: 4 tokens (8 pairs), 3 of them use expert 0
  c.by_group["es"] = {1, 1, 0, 0};  // old language: its 1 token uses expert 0
  c.by_group["el"] = {1, 5, 4, 0};
  auto protos = RoutingProtos({c}, {"en", "es"});
  ASSERT_EQ(protos.size(), 1u);
  const v1::LayerRouting& l = protos[0];
  EXPECT_EQ(l.layer(), 5u);
  EXPECT_EQ(l.num_experts(), 4u);
  EXPECT_EQ(l.top_k(), 2u);
  ASSERT_EQ(l.experts_size(), 4);
  // Totals 5, 9, 6, 0 of 20.
  EXPECT_EQ(l.experts(0).assignments(), 5u);
  EXPECT_DOUBLE_EQ(l.experts(0).token_share(), 0.25);
  EXPECT_DOUBLE_EQ(l.experts(1).token_share(), 0.45);
  EXPECT_DOUBLE_EQ(l.experts(2).token_share(), 0.3);
  EXPECT_DOUBLE_EQ(l.experts(3).token_share(), 0.0);
  EXPECT_DOUBLE_EQ(l.experts(0).share_by_language().at("en"), 0.375);
  EXPECT_DOUBLE_EQ(l.experts(1).share_by_language().at("el"), 0.5);
  EXPECT_DOUBLE_EQ(l.experts(3).share_by_language().at("es"), 0.0);
  ASSERT_TRUE(l.has_old_language_expert0_share());
  EXPECT_DOUBLE_EQ(l.old_language_expert0_share(), 0.8);  // tokens using expert 0: (3 + 1) / (4 + 1)
  EXPECT_EQ(l.dead_experts(), 1u);

  // No old languages named: the field stays absent.
  EXPECT_FALSE(RoutingProtos({c}, {})[0].has_old_language_expert0_share());
  // Old languages with no tokens: absent too.
  EXPECT_FALSE(RoutingProtos({c}, {"zh"})[0].has_old_language_expert0_share());

  // n_l <= k: every token uses every expert, expert 0 included.
  LayerRoutingCounts two;
  two.num_experts = 2;
  two.top_k = 2;
  two.by_group["en"] = {7, 7};
  EXPECT_DOUBLE_EQ(RoutingProtos({two}, {"en"})[0].old_language_expert0_share(), 1.0);
  // Top-1: the share of tokens is the share of pairs.
  two.top_k = 1;
  two.by_group["en"] = {3, 1};
  EXPECT_DOUBLE_EQ(RoutingProtos({two}, {"en"})[0].old_language_expert0_share(), 0.75);
}

TEST(RoutingCounterTest, CountsEveryTokenOncePerSlotInEachMoeLayer) {
  torch::NoGradGuard no_grad;
  auto base = *model::NewRandomModel(testing::TinyModelConfig(64), 3);
  const int64_t layers = base->num_layers();
  ASSERT_GE(layers, 2);
  std::vector<int64_t> plan(static_cast<size_t>(layers), 1);
  plan[0] = 3;           // top-2 of 3
  plan[layers - 1] = 2;  // n_l <= k: both experts for every token
  auto moe = BuildMoeModel(*base, plan, /*top_k=*/2, /*seed=*/9);
  ASSERT_TRUE(moe.ok()) << moe.status();
  {
    RoutingCounter dense(*base);
    EXPECT_TRUE(dense.empty());
  }
  RoutingCounter counter(**moe);
  ASSERT_FALSE(counter.empty());
  EXPECT_FALSE(counter.Accumulate("x").ok());  // no forward yet
  const at::Tensor ids_BT = at::randint(3, 64, {2, 10}, at::kLong);
  ASSERT_TRUE((*moe)->Forward(ids_BT).ok());
  ASSERT_TRUE(counter.Accumulate("a").ok());
  ASSERT_TRUE((*moe)->Forward(ids_BT.narrow(1, 0, 4)).ok());
  ASSERT_TRUE(counter.Accumulate("b").ok());
  ASSERT_EQ(counter.counts().size(), 2u);
  const LayerRoutingCounts& first = counter.counts()[0];
  EXPECT_EQ(first.layer, 0);
  EXPECT_EQ(first.num_experts, 3);
  EXPECT_EQ(first.top_k, 2);
  uint64_t sum_a = 0, sum_b = 0;
  for (uint64_t n : first.by_group.at("a")) sum_a += n;
  for (uint64_t n : first.by_group.at("b")) sum_b += n;
  EXPECT_EQ(sum_a, 2u * 10u * 2u);
  EXPECT_EQ(sum_b, 2u * 4u * 2u);
  const LayerRoutingCounts& last = counter.counts()[1];
  EXPECT_EQ(last.layer, layers - 1);
  EXPECT_EQ(last.top_k, 2);
  EXPECT_THAT(last.by_group.at("a"), ElementsAre(20u, 20u));
}

}  // namespace
}  // namespace nmoe::trainer
