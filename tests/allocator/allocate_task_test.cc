// The allocate job kind in-process (TaskContext over a RocksDB result store).
#include "allocator/allocate_task.h"

#include <google/protobuf/util/json_util.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "allocator/plan_builder.h"
#include "storage/store_result_sink.h"
#include "tests/allocator/published_inputs.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::allocator {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

v1::AllocateSpec Spec(v1::AllocationStrategy strategy) {
  v1::AllocateSpec a;
  a.set_profile_job_id("job-profile1");
  a.set_strategy(strategy);
  for (const char* l : {"en", "es", "zh"}) a.add_old_languages(l);
  for (const char* l : {"el", "hu", "tr"}) a.add_new_languages(l);
  a.set_hidden_size(3072);
  a.set_intermediate_size(8192);
  return a;
}

class AllocateTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = storage::StoreResultSink::OpenLocal(dir_.file("results.db"));
    ASSERT_TRUE(sink.ok()) << sink.status();
    sink_ = *std::move(sink);
    ASSERT_TRUE(sink_->PutProfileSummary(testing::PublishedProfile("job-profile1")).ok());
  }

  absl::Status RunTask(const v1::AllocateSpec& spec, const std::string& job_id) {
    TaskContext ctx;
    ctx.task.set_job_id(job_id);
    *ctx.task.mutable_spec()->mutable_allocate() = spec;
    ctx.work_dir = dir_.path();
    ctx.log = [this](v1::LogLevel, const std::string& line) { log_ += line + "\n"; };
    ctx.report_progress = [](const v1::Progress&) {};
    ctx.results = sink_.get();
    return NewAllocateTask()->Run(ctx);
  }

  nmoe::testing::TempDir dir_;
  std::unique_ptr<storage::StoreResultSink> sink_;
  std::string log_;
};

TEST_F(AllocateTaskTest, NeuronGuidedFromTheStoredProfile) {
  v1::AllocateSpec spec = Spec(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  spec.clear_old_languages();
  spec.add_old_languages("en");  // HR = English as in the paper
  ASSERT_TRUE(RunTask(spec, "job-alloc1").ok()) << log_;
  auto plan = sink_->GetPlan("plan-alloc1");
  ASSERT_TRUE(plan.ok() && plan->has_value());
  const v1::Plan& p = **plan;
  EXPECT_EQ(std::vector<uint32_t>(p.experts_per_layer().begin(), p.experts_per_layer().end()), testing::kNeuronMoE);
  EXPECT_EQ(p.total_experts(), 49u);
  EXPECT_EQ(p.added_parameters(), uint64_t{21} * 3 * 3072 * 8192);
  EXPECT_EQ(p.job_id(), "job-alloc1");
  EXPECT_EQ(p.profile_job_id(), "job-profile1");
  EXPECT_EQ(p.inputs().max_experts(), 6u);  // defaults recorded
  EXPECT_EQ(p.inputs().top_k(), 2u);
  EXPECT_EQ(p.layer_scores_size(), 28);
  EXPECT_GT(p.create_time().seconds(), 0);
  const fs::path out = dir_.path() / "plans" / "job-alloc1";
  auto from_file = PlanFromJson(::nmoe::testing::ReadWholeFile(out / "plan.json"));
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->SerializeAsString(), p.SerializeAsString());
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(out / "plan.svg"), HasSubstr("neuron-guided (N_max=6): 49 experts"));
  EXPECT_THAT(log_, HasSubstr("plan plan-alloc1 (neuron-guided (N_max=6)): experts per layer 6,2,1,"));
}

TEST_F(AllocateTaskTest, LayerSimilarityUniformManualAndErrors) {
  v1::AllocateSpec sim = Spec(v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY);
  sim.set_output_path("out/sim");
  ASSERT_TRUE(RunTask(sim, "job-a2").ok()) << log_;
  auto p = sink_->GetPlan("plan-a2");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ(std::vector<uint32_t>((*p)->experts_per_layer().begin(), (*p)->experts_per_layer().end()), testing::kLayerMoE);
  EXPECT_EQ((*p)->total_experts(), 84u);
  EXPECT_TRUE(fs::exists(dir_.path() / "out" / "sim" / "plan.svg"));

  v1::AllocateSpec uniform = Spec(v1::ALLOCATION_STRATEGY_UNIFORM);
  uniform.set_uniform_experts(3);  // layers from the profile: 28
  uniform.set_total_budget(60);
  ASSERT_TRUE(RunTask(uniform, "job-a3").ok()) << log_;
  p = sink_->GetPlan("plan-a3");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->experts_per_layer_size(), 28);
  EXPECT_EQ((*p)->total_experts(), 60u);  // 84 capped: the 24 later layers lose one each
  EXPECT_EQ((*p)->experts_per_layer(0), 3u);
  EXPECT_EQ((*p)->experts_per_layer(27), 2u);

  v1::AllocateSpec manual;
  manual.set_strategy(v1::ALLOCATION_STRATEGY_MANUAL);
  for (uint32_t n : {1, 4, 2}) manual.add_manual_experts(n);
  ASSERT_TRUE(RunTask(manual, "local run").ok()) << log_;
  p = sink_->GetPlan("plan-local_run");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->total_experts(), 7u);

  v1::AllocateSpec missing = Spec(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  missing.set_profile_job_id("job-nothere");
  absl::Status s = RunTask(missing, "job-a5");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("profile job job-nothere has no stored profile summary"));
  v1::AllocateSpec lape = Spec(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  lape.set_criterion(v1::NEURON_CRITERION_LAPE);
  s = RunTask(lape, "job-a6");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("allocate: profile job-profile1 has no lape neuron counts for language en"));
}

// The lead's pipeline submits only profile_job_id, strategy, languages and strategy
// parameters: sizes and layers come from the stored profile's model.
TEST_F(AllocateTaskTest, SizesAndLayersFromTheProfile) {
  v1::ProfileSummary sized = testing::PublishedProfile("job-sized");
  sized.set_num_layers(30);  // two trailing layers without any selected neuron
  sized.set_hidden_size(3072);
  sized.set_intermediate_size(8192);
  ASSERT_TRUE(sink_->PutProfileSummary(sized).ok());

  v1::AllocateSpec neuron = Spec(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  neuron.set_profile_job_id("job-sized");
  neuron.clear_old_languages();
  neuron.add_old_languages("en");
  neuron.clear_hidden_size();
  neuron.clear_intermediate_size();
  ASSERT_TRUE(RunTask(neuron, "job-s1").ok()) << log_;
  auto p = sink_->GetPlan("plan-s1");
  ASSERT_TRUE(p.ok() && p->has_value());
  std::vector<uint32_t> expected = testing::kNeuronMoE;
  expected.push_back(1);
  expected.push_back(1);
  EXPECT_EQ(std::vector<uint32_t>((*p)->experts_per_layer().begin(), (*p)->experts_per_layer().end()), expected);
  EXPECT_EQ((*p)->total_experts(), 51u);
  EXPECT_EQ((*p)->added_parameters(), uint64_t{21} * 3 * 3072 * 8192);
  EXPECT_EQ((*p)->inputs().hidden_size(), 3072u);  // recorded as used
  EXPECT_EQ((*p)->inputs().num_layers(), 30u);

  v1::AllocateSpec uniform;
  uniform.set_profile_job_id("job-sized");
  uniform.set_strategy(v1::ALLOCATION_STRATEGY_UNIFORM);
  uniform.set_uniform_experts(2);
  ASSERT_TRUE(RunTask(uniform, "job-s2").ok()) << log_;
  p = sink_->GetPlan("plan-s2");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->experts_per_layer_size(), 30);
  EXPECT_EQ((*p)->total_experts(), 60u);
  EXPECT_EQ((*p)->added_parameters(), uint64_t{30} * 3 * 3072 * 8192);

  // Explicit sizes win; a layer count that contradicts the profile is an error.
  uniform.set_hidden_size(16);
  uniform.set_intermediate_size(32);
  ASSERT_TRUE(RunTask(uniform, "job-s3").ok()) << log_;
  p = sink_->GetPlan("plan-s3");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->added_parameters(), uint64_t{30} * 3 * 16 * 32);
  uniform.set_num_layers(28);
  absl::Status s = RunTask(uniform, "job-s4");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("num_layers is 28 but profile job-sized was taken on a model with 30 layers"));

  // A profile without recorded sizes (older profiles): added parameters stay 0.
  v1::AllocateSpec unsized = neuron;
  unsized.set_profile_job_id("job-profile1");
  ASSERT_TRUE(RunTask(unsized, "job-s5").ok()) << log_;
  p = sink_->GetPlan("plan-s5");
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->added_parameters(), 0u);
  EXPECT_EQ((*p)->experts_per_layer_size(), 28);
}

TEST(AllocateTask, PlanIds) {
  EXPECT_EQ(PlanIdForJob("job-01ABC"), "plan-01ABC");
  EXPECT_EQ(PlanIdForJob("local"), "plan-local");
  EXPECT_EQ(PlanIdForJob("a/b c"), "plan-a_b_c");
}

}  // namespace
}  // namespace nmoe::allocator
