// Training metrics (trainer/train_metrics.h): hand-worked dead-expert windows, the
// series a stage exports into a real prometheus-cpp registry, and their removal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include <map>

#include "tests/support/registry_values.h"
#include "trainer/train_metrics.h"

namespace nmoe::trainer {
namespace {

using ::nmoe::testing::RegistryValues;

TEST(DeadExpertTrackerTest, ExpertIsDeadAfterTheWindowAndComesBack) {
  DeadExpertTracker t(/*window=*/3);
  EXPECT_TRUE(t.Add(1, {5, 0, 2}).empty());
  EXPECT_TRUE(t.Add(1, {5, 0, 0}).empty());
  auto changes = t.Add(1, {5, 0, 0});  // expert 1: third step without tokens
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].layer, 1);
  EXPECT_EQ(changes[0].expert, 1);
  EXPECT_TRUE(changes[0].dead);
  EXPECT_EQ(t.Dead(1), 1);
  EXPECT_TRUE(t.Add(3, {0, 1}).empty());  // another layer keeps its own count
  changes = t.Add(1, {5, 0, 0});          // expert 2: third idle step; expert 1 stays dead (no new change)
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].expert, 2);
  EXPECT_EQ(t.Dead(1), 2);
  changes = t.Add(1, {5, 4, 0});  // expert 1 gets tokens again
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].expert, 1);
  EXPECT_FALSE(changes[0].dead);
  EXPECT_EQ(t.Dead(1), 1);
  EXPECT_EQ(t.Dead(3), 0);
}

TEST(TrainMetricsTest, ExportsAStageAndRemovesItsSeries) {
  prometheus::Registry registry;
  std::vector<std::string> events;
  {
    TrainMetrics m(&registry, "job-7", "experts", 40);
    StepRecord r;
    r.step = 3;
    r.loss = 2.5;
    r.lr = 1e-3;
    r.grad_norm = 0.75;
    r.tokens = 256;
    r.seconds = 0.3;
    r.tokens_per_second = 853.3;
    m.RecordStep(r);
    m.RecordStep(r);
    m.SetLoss("balance", 1.02);
    LayerRoutingCounts layer;
    layer.layer = 1;
    layer.num_experts = 3;
    layer.top_k = 2;
    layer.by_group[""] = {30, 10, 0};
    for (uint64_t i = 0; i < kDeadExpertWindow; ++i) {
      m.RecordRouting({layer}, [&](const std::string& text, bool dead) { events.push_back((dead ? "dead: " : "back: ") + text); });
    }
    const auto got = RegistryValues(registry);
    const std::string l = "job_id=job-7,stage=experts,";
    EXPECT_EQ(got.at("nmoe_train_loss{component=total," + l + "}"), 2.5);
    EXPECT_EQ(got.at("nmoe_train_loss{component=balance," + l + "}"), 1.02);
    EXPECT_EQ(got.at("nmoe_train_learning_rate{" + l + "}"), 1e-3);
    EXPECT_EQ(got.at("nmoe_train_grad_norm{" + l + "}"), 0.75);
    EXPECT_EQ(got.at("nmoe_train_tokens_per_second{" + l + "}"), 853.3);
    EXPECT_EQ(got.at("nmoe_train_step{" + l + "}"), 3);
    EXPECT_EQ(got.at("nmoe_train_total_steps{" + l + "}"), 40);
    EXPECT_EQ(got.at("nmoe_train_tokens_total{" + l + "}"), 512);
    EXPECT_EQ(got.at("nmoe_train_step_seconds{" + l + "}"), 2);  // observations
    EXPECT_EQ(got.at("nmoe_moe_expert_token_share{expert=0,job_id=job-7,layer=1,stage=experts,}"), 0.75);
    EXPECT_EQ(got.at("nmoe_moe_expert_token_share{expert=1,job_id=job-7,layer=1,stage=experts,}"), 0.25);
    EXPECT_EQ(got.at("nmoe_moe_expert_token_share{expert=2,job_id=job-7,layer=1,stage=experts,}"), 0.0);
    EXPECT_EQ(got.at("nmoe_moe_dead_experts{job_id=job-7,layer=1,stage=experts,}"), 1);
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "dead: expert 2 of layer 1 got no token in the last 20 steps (dead expert)");
  // The stage ended: no series of the job is left (the families stay, empty).
  EXPECT_TRUE(RegistryValues(registry).empty());
  // A null registry: nothing to do, no crash.
  TrainMetrics none(nullptr, "job-8", "s", 1);
  none.RecordStep(StepRecord{});
  none.SetLoss("lm", 1);
}

}  // namespace
}  // namespace nmoe::trainer
