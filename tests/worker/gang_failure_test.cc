// Issue 4's gang failure, end to end: a 2-worker pretrain job runs as a gang of
// two real nmoe-worker processes through a real nmoe-coordinator (short
// heartbeats and lease TTL); one rank is killed with SIGKILL mid-run.
//   - the other rank's collective fails and it stops (PEER_LOST), the attempt
//     ends with WORKER_LOST naming the killed worker, the coordinator counts the
//     loss (scraped from its /metrics);
//   - with restarts left: a replacement worker joins, the new attempt resumes
//     from the last checkpoint (the steps before it are not run again) and the
//     job succeeds;
//   - with max_restarts 0: the job fails, naming the lost worker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/support/files.h"
#include "tests/support/http_get.h"
#include "tests/support/worker_e2e.h"

namespace nmoe {
namespace {

using ::testing::HasSubstr;
using testing::ReadWholeFile;

class GangFailureTest : public testing::WorkerE2eTest {
 protected:
  // Coordinator with a 1.5 s lease TTL and metrics; workers a and b.
  void StartGang() {
    testing::CoordinatorFlags flags;
    flags.lease_ttl = "1.5";
    flags.metrics = true;
    ASSERT_NO_FATAL_FAILURE(StartCoordinator(flags));
    a_ = std::make_unique<testing::ChildProcess>(
        StartWorker("a", {"--advertise-host", "127.0.0.1", "--metrics-port", "0"}));
    b_ = std::make_unique<testing::ChildProcess>(StartWorker("b", {"--advertise-host", "127.0.0.1"}));
  }

  std::vector<std::string> Lines(const std::string& relative) {
    return absl::StrSplit(ReadWholeFile(dir_.file(relative)), '\n', absl::SkipEmpty());
  }

  // Kills worker b once rank 0 logged `steps` steps; returns b's worker id.
  std::string KillBAfter(const std::string& metrics_file, size_t steps) {
    auto lines = testing::WaitForFileLines(dir_.file(metrics_file), steps, absl::Seconds(120));
    EXPECT_TRUE(lines.ok()) << lines.status() << ReadWholeFile(WorkerLog("a")) << ReadWholeFile(WorkerLog("b"));
    const std::string b_id = WorkerId("b");  // registered: the gang is training
    EXPECT_FALSE(b_id.empty());
    b_->Kill(SIGKILL);
    EXPECT_EQ(*b_->Wait(absl::Seconds(10)), 128 + SIGKILL);
    return b_id;
  }

  double CoordinatorMetric(const std::string& series) {
    auto body = testing::HttpGet(coordinator_metrics_port_, "/metrics");
    EXPECT_TRUE(body.ok()) << body.status();
    return body.ok() ? testing::MetricValue(*body, series) : -1;
  }

  std::unique_ptr<testing::ChildProcess> a_, b_;
};

TEST_F(GangFailureTest, KilledRankRestartsFromTheCheckpointAndSucceeds) {
  ASSERT_NO_FATAL_FAILURE(StartGang());
  testing::PretrainJobOptions o;
  o.name = "gang-restart";
  o.output = "runs/gang";
  o.steps = 40;
  o.workers = 2;
  o.checkpoint_interval_steps = 5;
  o.max_restarts = 2;
  const std::string id = Submit(PretrainJobYaml(o));
  EXPECT_EQ(CoordinatorMetric("nmoe_worker_losses_total"), 0);
  const std::string b_id = KillBAfter("runs/gang/metrics.jsonl", 12);
  const std::vector<std::string> before = Lines("runs/gang/metrics.jsonl");

  // The survivor's collective fails at once; the attempt ends when b's lease expires.
  v1::Job job = WaitFor(id, [](const v1::Job& j) { return j.attempt() == 2; }, absl::Seconds(30));
  EXPECT_EQ(job.restarts_used(), 1u);
  testing::ChildProcess c = StartWorker("c", {"--advertise-host", "127.0.0.1"});
  job = WaitForState(id, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.attempt(), 2u);
  EXPECT_EQ(job.progress().done(), 40u);

  // Events: the survivor reported a lost peer, then WORKER_LOST named b, then a restart.
  const std::vector<v1::JobEvent> events = Events(id);
  std::vector<std::string> reasons;
  std::string lost_message;
  for (const auto& e : events) {
    if (!e.has_state_change()) continue;
    reasons.push_back(e.state_change().reason());
    if (e.state_change().reason() == "WORKER_LOST") lost_message = e.state_change().message();
  }
  EXPECT_THAT(reasons, ::testing::Contains("WORKER_LOST"));
  EXPECT_THAT(reasons, ::testing::Not(::testing::Contains("PEER_LOST")));
  EXPECT_THAT(lost_message, HasSubstr(b_id));
  EXPECT_THAT(lost_message, HasSubstr("missed heartbeats"));
  EXPECT_THAT(lost_message, HasSubstr("restart 1 of 2"));
  const std::string text = LogText(events);
  EXPECT_THAT(text, HasSubstr("its gang lost a peer"));
  EXPECT_THAT(ReadWholeFile(WorkerLog("a")), HasSubstr("a collective of the gang failed"));

  // Resumed from the newest checkpoint before the kill, on both ranks.
  const size_t at = text.find("resumed from ");
  ASSERT_NE(at, std::string::npos) << text;
  const size_t step_at = text.find("(step ", at);
  ASSERT_NE(step_at, std::string::npos) << text;
  int resumed = 0;
  ASSERT_TRUE(absl::SimpleAtoi(text.substr(step_at + 6, text.find(' ', step_at + 6) - step_at - 6), &resumed))
      << text;
  EXPECT_EQ(resumed % 5, 0) << text;
  EXPECT_GE(resumed, 10) << text;
  EXPECT_LE(static_cast<size_t>(resumed), before.size()) << text;
  EXPECT_NE(text.find("resumed from ", at + 1), std::string::npos) << "both ranks resume:\n" << text;
  // metrics.jsonl: steps 1..40 once each; the lines up to the checkpoint are the
  // first attempt's own (same timings: not run again), the rest the new attempt's.
  const std::vector<std::string> after = Lines("runs/gang/metrics.jsonl");
  ASSERT_EQ(after.size(), 40u);
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(nlohmann::json::parse(after[i])["step"], i + 1);
    if (i < static_cast<size_t>(resumed)) {
      EXPECT_EQ(after[i], before[i]) << "step " << i + 1;
    }
  }
  EXPECT_EQ(Lines("runs/gang/rank-1/metrics.jsonl").size(), 40u);

  // Metrics: the coordinator counted one lost worker; the survivor one failed
  // task (its first attempt) and one success.
  EXPECT_EQ(CoordinatorMetric("nmoe_worker_losses_total"), 1);
  auto a_metrics = testing::HttpGet(WorkerMetricsPort("a"), "/metrics");
  ASSERT_TRUE(a_metrics.ok()) << a_metrics.status();
  EXPECT_EQ(testing::MetricValue(*a_metrics, "nmoe_worker_tasks_total{outcome=\"failed\"}"), 1) << *a_metrics;
}

TEST_F(GangFailureTest, WithoutRestartsTheJobFailsNamingTheLostWorker) {
  ASSERT_NO_FATAL_FAILURE(StartGang());
  testing::PretrainJobOptions o;
  o.name = "gang-no-restart";
  o.output = "runs/gang0";
  o.steps = 400;
  o.workers = 2;
  o.checkpoint_interval_steps = 5;
  o.max_restarts = 0;
  const std::string id = Submit(PretrainJobYaml(o));
  const std::string b_id = KillBAfter("runs/gang0/metrics.jsonl", 3);
  const v1::Job job = WaitForState(id, v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.last_transition().reason(), "WORKER_LOST");
  EXPECT_THAT(job.last_transition().message(), HasSubstr("worker " + b_id));
  EXPECT_THAT(job.last_transition().message(), HasSubstr("restart budget of 0 spent"));
  EXPECT_EQ(job.attempt(), 1u);
  EXPECT_EQ(CoordinatorMetric("nmoe_worker_losses_total"), 1);
  // The survivor stopped its rank and stays up, idle.
  EXPECT_THAT(ReadWholeFile(WorkerLog("a")), HasSubstr("a collective of the gang failed"));
  auto a_metrics = testing::HttpGet(WorkerMetricsPort("a"), "/metrics");
  ASSERT_TRUE(a_metrics.ok()) << a_metrics.status();
  EXPECT_EQ(testing::MetricValue(*a_metrics, "nmoe_worker_busy"), 0) << *a_metrics;
  EXPECT_EQ(testing::MetricValue(*a_metrics, "nmoe_worker_tasks_total{outcome=\"failed\"}"), 1) << *a_metrics;
  EXPECT_EQ(a_->Wait(absl::Milliseconds(1)).status().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace nmoe
