// nmoectl workers, version, plan and neurons.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/ids.h"
#include "common/proto_time.h"
#include "common/version.h"
#include "tests/cli/nmoectl_fixture.h"

namespace nmoe::cli::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// An allocate job over a profile, as examples/jobs/allocate.yaml.
v1::JobSpec AllocateSpec(const std::string& profile_job_id, v1::AllocationStrategy strategy) {
  v1::JobSpec spec;
  spec.set_name("allocate");
  v1::AllocateSpec* a = spec.mutable_allocate();
  a->set_profile_job_id(profile_job_id);
  a->set_strategy(strategy);
  a->add_old_languages("en");
  a->add_new_languages("el");
  a->set_criterion(v1::NEURON_CRITERION_AP);
  if (strategy == v1::ALLOCATION_STRATEGY_UNIFORM) {
    a->set_uniform_experts(2);
    a->set_num_layers(3);
  }
  return spec;
}

// A plan as an allocate job stores it, for a 3-layer model with hidden size
// 896 and intermediate size 4864 (Qwen2-0.5B's MLP shape).
v1::Plan MakePlan(const std::string& job_id, const v1::JobSpec& spec, std::vector<uint32_t> experts,
                  std::vector<double> scores, absl::Time now) {
  v1::Plan plan;
  plan.set_id(NewId("plan", now));
  plan.set_job_id(job_id);
  plan.set_profile_job_id(spec.allocate().profile_job_id());
  plan.set_strategy(spec.allocate().strategy());
  *plan.mutable_inputs() = spec.allocate();
  uint32_t total = 0;
  uint64_t added = 0;
  for (uint32_t n : experts) {
    plan.add_experts_per_layer(n);
    total += n;  // Plan.total_experts counts every layer (a dense layer is 1)
    added += uint64_t{n - 1} * 3 * 896 * 4864;
  }
  plan.set_total_experts(total);
  plan.set_added_parameters(added);
  for (double s : scores) plan.add_layer_scores(s);
  *plan.mutable_create_time() = ToProtoTime(now);
  return plan;
}

TEST_F(NmoectlTest, WorkersVersionAndPlans) {
  v1::JobSpec gpu_job = ProfileSpec();
  gpu_job.mutable_resources()->set_device(v1::DEVICE_KIND_CUDA);
  Submit(gpu_job);
  const Lease lease = RegisterAndLease(v1::DEVICE_KIND_CUDA, 1, "gpu-3");
  clock_.Advance(absl::Seconds(2));
  Result r = Run({"workers"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(lease.worker_id + "   busy    cuda:1   gpu-3   4         " +
                               lease.task_id + "   2s"));

  clock_.Advance(absl::Hours(1));  // the coordinator started with the test
  r = Run({"version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(std::string("Server version: ") + kVersion + " (commit " +
                               (std::string(kGitCommit).empty() ? "unknown" : kGitCommit) + ")"));
  EXPECT_THAT(r.out, HasSubstr("(up 1h00m)"));
  EXPECT_THAT(r.out, HasSubstr("Auth required:  no"));

  const std::string profile = Submit();
  const v1::JobSpec guided = AllocateSpec(profile, v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  const std::string guided_job = Submit(guided);
  const v1::JobSpec uniform = AllocateSpec("", v1::ALLOCATION_STRATEGY_UNIFORM);
  const std::string uniform_job = Submit(uniform);
  const v1::Plan p = MakePlan(guided_job, guided, {1, 3, 6}, {0.02, 0.31, 0.67}, clock_.Now());
  const v1::Plan q = MakePlan(uniform_job, uniform, {2, 2, 2}, {}, clock_.Now());
  ASSERT_TRUE(server_->results().PutPlan(p).ok());
  ASSERT_TRUE(server_->results().PutPlan(q).ok());
  r = Run({"plan", "show", p.id()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Strategy:         neuron-guided\n"));
  EXPECT_THAT(r.out, HasSubstr("Profile job:      " + profile + "\n"));
  EXPECT_THAT(r.out, HasSubstr("Total experts:    10\n"));
  EXPECT_THAT(r.out, HasSubstr("Added parameters: 91.5M\n"));
  EXPECT_THAT(r.out,
              HasSubstr("LAYER   EXPERTS   SCORE\n0       1         0.02\n1       3         0.31\n"
                        "2       6         0.67\n"));
  r = Run({"plan", "show", q.id()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Profile job:      -\n"));
  EXPECT_THAT(r.out, HasSubstr("LAYER   EXPERTS   SCORE\n0       2         -\n"));
  r = Run({"plan", "list", "--job", guided_job});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(p.id() + "   " + guided_job + "   neuron-guided   1 3 6"));
  EXPECT_THAT(r.out, Not(HasSubstr(q.id())));
  r = Run({"plan", "list"});
  EXPECT_THAT(r.out, HasSubstr(q.id()));
  EXPECT_THAT(r.out, HasSubstr(p.id()));
  r = Run({"plan", "show", "plan-9"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "error: NOT_FOUND: plan plan-9 not found\n");
}

constexpr uint32_t kApPerComponent = 1800;

// A profile's statistics for "el": LAPE over 2 layers x 2 components with 14
// selected neurons whose ranks alternate layers and components, and AP over
// 3 layers x 2 components x kApPerComponent neurons: more rows than one page (10000).
std::vector<v1::NeuronStat> ProfileStats(const std::string& job_id) {
  std::vector<v1::NeuronStat> stats;
  auto add = [&](v1::NeuronCriterion criterion, uint32_t layer, v1::Component component,
                 uint32_t index) -> v1::NeuronStat& {
    v1::NeuronStat& n = stats.emplace_back();
    n.set_job_id(job_id);
    n.set_criterion(criterion);
    n.set_language("el");
    n.set_layer(layer);
    n.set_component(component);
    n.set_index(index);
    return n;
  };
  for (uint32_t rank = 1; rank <= 14; ++rank) {  // selected: low entropy, high probability
    v1::NeuronStat& n =
        add(v1::NEURON_CRITERION_LAPE, rank % 2,
            rank % 3 == 0 ? v1::COMPONENT_UP_PROJ : v1::COMPONENT_GATE_PROJ, 1000 + 37 * rank);
    n.set_score(rank / 64.0);
    n.set_activation_prob(1 - rank / 128.0);
    n.set_selected(true);
    n.set_rank(rank);
  }
  for (uint32_t index = 0; index < 20; ++index) {  // not selected
    v1::NeuronStat& n = add(v1::NEURON_CRITERION_LAPE, 0, v1::COMPONENT_GATE_PROJ, index);
    n.set_score(1.5);
    n.set_activation_prob(0.25);
  }
  for (uint32_t layer = 0; layer < 3; ++layer) {
    for (v1::Component c : {v1::COMPONENT_GATE_PROJ, v1::COMPONENT_UP_PROJ}) {
      for (uint32_t index = 0; index < kApPerComponent; ++index) {
        add(v1::NEURON_CRITERION_AP, layer, c, index).set_score((index % 1000) / 1000.0);
      }
    }
  }
  return stats;
}

TEST_F(NmoectlTest, NeuronsCsvFollowsPages) {
  const std::string job = Submit();
  ASSERT_TRUE(server_->results().PutNeuronStats(ProfileStats(job)).ok());
  // Of the top 10 ranks, those in layer 0's gate_proj: 2, 4, 8, 10 (not 14).
  Result r =
      Run({"neurons", "--job", job, "--language", "el", "--layer", "0", "--component", "gate_proj",
           "--criterion", "lape", "--selected", "--top", "10", "--all", "-o", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "language,criterion,layer,component,index,score,activation_prob,selected,rank\n"
            "el,lape,0,gate_proj,1074,0.03125,0.984375,true,2\n"
            "el,lape,0,gate_proj,1148,0.0625,0.96875,true,4\n"
            "el,lape,0,gate_proj,1296,0.125,0.9375,true,8\n"
            "el,lape,0,gate_proj,1370,0.15625,0.921875,true,10\n");
  // No --layer: every layer.
  r = Run({"neurons", "--job", job, "--language", "el", "--criterion", "lape", "--selected", "-o",
           "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 15);
  EXPECT_THAT(r.out, HasSubstr("\nel,lape,1,gate_proj,1037,0.015625,0.9921875,true,1\n"));
  EXPECT_THAT(r.out, HasSubstr("\nel,lape,1,up_proj,1111,0.046875,0.9765625,true,3\n"));

  // AP (the default criterion) across two pages.
  r = Run({"neurons", "--job", job, "--language", "el", "--all", "-o", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 1 + 3 * 2 * kApPerComponent);
  EXPECT_EQ(rows[1], "el,ap,0,gate_proj,0,0,0,false,0");
  EXPECT_EQ(rows.back(), "el,ap,2,up_proj,1799,0.799,0,false,0");
  EXPECT_EQ(std::set<std::string>(rows.begin(), rows.end()).size(), rows.size());  // no repeats

  r = Run({"neurons", "--job", job, "--language", "el", "--limit", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6);
  EXPECT_THAT(r.err, HasSubstr("showing the first 5 neurons"));
  EXPECT_EQ(Run({"neurons", "--job", "j", "--language", "el", "--component", "mlp"}).code, 2);

  // JSON export; --top implies --selected.
  r = Run({"neurons", "--job", job, "--language", "el", "--criterion", "lape", "--top", "3", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json["neurons"].size(), 3u) << r.out;
  EXPECT_EQ(json["neurons"][0]["rank"], 1);
  EXPECT_EQ(json["neurons"][0]["layer"], 1);
  EXPECT_EQ(json["neurons"][0]["index"], 1037);
  EXPECT_EQ(json["neurons"][2]["rank"], 3);
  EXPECT_EQ(json["neurons"][2]["component"], "COMPONENT_UP_PROJ");
}

}  // namespace
}  // namespace nmoe::cli::testing
