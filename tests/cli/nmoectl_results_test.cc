// nmoectl workers, version, plan and neurons.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/nmoectl_fixture.h"

namespace nmoe::cli::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST_F(NmoectlTest, WorkersVersionAndPlans) {
  v1::Worker& w = server_.state().workers.emplace_back();
  w.set_id("w-1");
  w.set_state(v1::WORKER_STATE_BUSY);
  w.mutable_capabilities()->set_device(v1::DEVICE_KIND_CUDA);
  w.mutable_capabilities()->set_device_index(1);
  w.mutable_capabilities()->set_hostname("gpu-3");
  w.mutable_last_heartbeat_time()->set_seconds(kNow - 2);
  Result r = Run({"workers"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("w-1   busy    cuda:1   gpu-3"));

  r = Run({"version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Server version: 9.8.7 (commit abcdef)"));
  EXPECT_THAT(r.out, HasSubstr("(up 1h00m)"));

  v1::Plan& p = server_.state().plans.emplace_back();
  p.set_id("plan-1");
  p.set_job_id("job-2");
  p.set_strategy(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  for (uint32_t n : {1, 3, 6}) p.add_experts_per_layer(n);
  p.set_total_experts(9);
  r = Run({"plan", "show", "plan-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Strategy:         neuron-guided\n"));
  EXPECT_THAT(r.out, HasSubstr("LAYER   EXPERTS   SCORE\n0       1         -\n"));
  r = Run({"plan", "list", "--job", "job-2"});
  EXPECT_THAT(r.out, HasSubstr("plan-1   job-2   neuron-guided   1 3 6"));
  EXPECT_EQ(Run({"plan", "show", "plan-9"}).code, 4);
}

TEST_F(NmoectlTest, NeuronsCsvFollowsPages) {
  for (uint32_t i = 0; i < 2500; ++i) {
    v1::NeuronStat& n = server_.state().neurons.emplace_back();
    n.set_language("el");
    n.set_layer(i / 1000);
    n.set_component(v1::COMPONENT_GATE_PROJ);
    n.set_index(i);
    n.set_score(0.125);
    n.set_selected(true);
    n.set_rank(i + 1);
  }
  Result r =
      Run({"neurons", "--job", "job-1", "--language", "el", "--layer", "0", "--component",
           "gate_proj", "--criterion", "lape", "--selected", "--top", "10", "--all", "-o", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("language,criterion,layer,component,index,score,activation_prob,"
                                "selected,rank\nel,unspecified,0,gate_proj,0,0.125,0,true,1\n"));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2501);
  const v1::QueryNeuronsRequest& q = server_.state().neuron_requests.front();
  EXPECT_TRUE(q.has_layer());
  EXPECT_EQ(q.layer(), 0u);
  EXPECT_EQ(q.component(), v1::COMPONENT_GATE_PROJ);
  EXPECT_EQ(q.criterion(), v1::NEURON_CRITERION_LAPE);
  EXPECT_TRUE(q.selected_only());
  EXPECT_EQ(q.top_n(), 10u);
  r = Run({"neurons", "--job", "job-1", "--language", "el", "--limit", "5"});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6);
  EXPECT_FALSE(server_.state().neuron_requests.back().has_layer());
  EXPECT_EQ(Run({"neurons", "--job", "j", "--language", "el", "--component", "mlp"}).code, 2);
}

}  // namespace
}  // namespace nmoe::cli::testing
