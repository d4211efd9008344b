// nmoe-worker end to end: the real nmoe-coordinator and nmoe-worker processes
// on 127.0.0.1 with the tiny pretraining preset on the committed sample corpus
// (tests/data/corpus). Covers submit -> lease -> progress -> complete, a task
// that fails (the worker stays up and takes the next one), cancel mid-run, the
// coordinator killed (SIGKILL) and restarted mid-task, and SIGTERM to a worker
// mid-task (checkpoint, back to the queue, a second worker resumes).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/client.h"
#include "cli/job_file.h"
#include "nlohmann/json.hpp"
#include "tests/support/files.h"
#include "tests/support/http_get.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_e2e.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using testing::PretrainJobOptions;
using testing::PretrainJobYaml;

// The tiny preset on two languages of the sample corpus (tests/support/worker_e2e.h).
std::string PretrainJob(const std::string& name, const std::string& output, int steps,
                        const std::string& corpus_dir = "", int workers = 1) {
  PretrainJobOptions o;
  o.name = name;
  o.output = output;
  o.steps = steps;
  o.corpus_dir = corpus_dir;
  o.workers = workers;
  return PretrainJobYaml(o);
}

class NmoeWorkerTest : public testing::WorkerE2eTest {};

TEST_F(NmoeWorkerTest, FailsABadJobThenRunsAGoodOneThenACancelledOne) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  testing::ChildProcess worker = StartWorker("w1");

  // A task that fails: the job FAILED with the task's message, not retried.
  const std::string bad = Submit(PretrainJob("bad", "runs/bad", 10, dir_.file("no-such-corpus")));
  v1::Job job = WaitForState(bad, v1::JOB_STATE_FAILED);
  EXPECT_THAT(job.last_transition().message(), HasSubstr("no-such-corpus"));
  EXPECT_THAT(job.last_transition().message(), HasSubstr("(not retryable)"));
  EXPECT_EQ(job.restarts_used(), 0u);

  // The worker stays up and takes the next task: submit -> lease -> progress -> complete.
  const std::string good = Submit(PretrainJob("good", "runs/good", 30));
  job = WaitForState(good, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.progress().done(), 30u);
  EXPECT_EQ(job.progress().unit(), "steps");
  std::vector<std::string> reasons;
  bool progress_event = false, worker_named = false;
  for (const auto& e : Events(good)) {
    if (e.has_state_change()) reasons.push_back(e.state_change().reason());
    progress_event = progress_event || e.has_progress();
    worker_named = worker_named || (e.has_log() && !e.log().worker_id().empty());
  }
  EXPECT_THAT(reasons, ::testing::Contains("LEASED"));
  EXPECT_THAT(reasons, ::testing::Contains("COMPLETED"));
  EXPECT_TRUE(progress_event);
  EXPECT_TRUE(worker_named);
  // The relative output path resolved under --work-dir.
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "eval.json"}) {
    EXPECT_TRUE(fs::exists(dir_.path() / "runs" / "good" / f)) << f;
  }

  // Cancel mid-run: the worker stops the task and the job ends CANCELLED.
  const std::string long_job = Submit(PretrainJob("long", "runs/long", 100000));
  WaitFor(long_job, [](const v1::Job& j) { return j.progress().unit() == "steps" && j.progress().done() >= 2; });
  v1::CancelJobRequest cancel;
  cancel.set_job_id(long_job);
  cancel.set_reason("test cancel");
  ASSERT_TRUE(client_->Call(client_->jobs(), &v1::JobService::Stub::CancelJob, cancel).ok());
  job = WaitForState(long_job, v1::JOB_STATE_CANCELLED);
  EXPECT_LT(job.progress().done(), 100000u);
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(WorkerLog("w1")), HasSubstr("by the coordinator; stopping it"));  // revoked or cancelled

  // SIGTERM while idle: a clean exit, deregistered.
  worker.Kill(SIGTERM);
  auto code = worker.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(WorkerLog("w1"));
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(WorkerLog("w1")), HasSubstr("deregistered"));
  auto workers = client_->Call(client_->workers(), &v1::WorkerService::Stub::ListWorkers, v1::ListWorkersRequest());
  ASSERT_TRUE(workers.ok());
  EXPECT_EQ(workers->workers_size(), 0);
}

TEST_F(NmoeWorkerTest, CoordinatorKilledAndRestartedMidTask) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  const int port = port_;
  testing::ChildProcess worker = StartWorker("w1", {"--metrics-port", "0"});
  const int metrics_port = WorkerMetricsPort("w1");
  ASSERT_GT(metrics_port, 0);
  const std::string id = Submit(PretrainJob("survivor", "runs/survivor", 150));
  WaitFor(id, [](const v1::Job& j) { return j.progress().unit() == "steps" && j.progress().done() >= 3; });
  auto busy = testing::HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(busy.ok()) << busy.status();
  EXPECT_EQ(testing::MetricValue(*busy, "nmoe_worker_busy"), 1) << *busy;
  EXPECT_EQ(testing::MetricValue(*busy, "nmoe_worker_reconnects_total"), 0) << *busy;
  coordinator_->Kill(SIGKILL);
  ASSERT_EQ(*coordinator_->Wait(absl::Seconds(10)), 128 + SIGKILL);
  // The worker notices at its next heartbeat and keeps training meanwhile.
  for (int i = 0; i < 200 && ::nmoe::testing::ReadWholeFile(WorkerLog("w1")).find("lost the coordinator") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  testing::CoordinatorFlags flags;
  flags.port = port;
  ASSERT_NO_FATAL_FAILURE(StartCoordinator(flags));
  const v1::Job job = WaitForState(id, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.progress().done(), 150u);
  const std::string log = ::nmoe::testing::ReadWholeFile(WorkerLog("w1"));
  EXPECT_THAT(log, HasSubstr("lost the coordinator"));
  EXPECT_THAT(log, HasSubstr("registered again as"));
  // The worker's own endpoint saw it all: one reconnect, one task succeeded, idle again.
  std::string body;
  for (int i = 0; i < 100; ++i) {  // the outcome is counted right after CompleteTask returns
    auto scrape = testing::HttpGet(metrics_port, "/metrics");
    ASSERT_TRUE(scrape.ok()) << scrape.status();
    body = *scrape;
    if (testing::MetricValue(body, "nmoe_worker_tasks_total{outcome=\"succeeded\"}") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(testing::MetricValue(body, "nmoe_worker_reconnects_total"), 1) << body;
  EXPECT_EQ(testing::MetricValue(body, "nmoe_worker_tasks_total{outcome=\"succeeded\"}"), 1) << body;
  EXPECT_EQ(testing::MetricValue(body, "nmoe_worker_tasks_total{outcome=\"failed\"}"), 0) << body;
  EXPECT_EQ(testing::MetricValue(body, "nmoe_worker_busy"), 0) << body;
  EXPECT_THAT(body, ::testing::ContainsRegex("nmoe_build_info\\{component=\"worker\",git_commit=\"[^\"]+\","
                                            "version=\"[^\"]+\"\\} 1"))
      << body;
}

// Issue 4's gang: a job of 2 workers runs as ranks 0 and 1 of one Gloo communicator
// formed through the coordinator's KV API; both ranks see the global loss every step.
TEST_F(NmoeWorkerTest, TwoWorkersTrainAsAGang) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  testing::ChildProcess a = StartWorker("a", {"--advertise-host", "127.0.0.1"});
  testing::ChildProcess b = StartWorker("b", {"--advertise-host", "127.0.0.1"});
  const std::string id = Submit(PretrainJob("gang", "runs/gang", 12, "", 2));
  const v1::Job job = WaitForState(id, v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE(fs::exists(dir_.file("runs/gang/config.json")));
  const std::string rank0 = ::nmoe::testing::ReadWholeFile(dir_.file("runs/gang/metrics.jsonl"));
  const std::string rank1 = ::nmoe::testing::ReadWholeFile(dir_.file("runs/gang/rank-1/metrics.jsonl"));
  std::vector<std::string> l0 = absl::StrSplit(rank0, '\n', absl::SkipEmpty());
  std::vector<std::string> l1 = absl::StrSplit(rank1, '\n', absl::SkipEmpty());
  ASSERT_EQ(l0.size(), 12u) << rank0;
  ASSERT_EQ(l1.size(), 12u) << rank1;
  for (size_t i = 0; i < l0.size(); ++i) {
    EXPECT_EQ(nlohmann::json::parse(l0[i])["loss"], nlohmann::json::parse(l1[i])["loss"]) << "step " << i + 1;
  }
  const std::string logs = ::nmoe::testing::ReadWholeFile(WorkerLog("a")) + ::nmoe::testing::ReadWholeFile(WorkerLog("b"));
  EXPECT_THAT(logs, HasSubstr("rank 0 of 2"));
  EXPECT_THAT(logs, HasSubstr("rank 1 of 2"));
}

TEST_F(NmoeWorkerTest, SigtermCheckpointsAndASecondWorkerResumes) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  std::string id;
  {
    testing::ChildProcess first = StartWorker("first");
    id = Submit(PretrainJob("handover", "runs/handover", 120));
    ASSERT_TRUE(testing::WaitForFileLines(dir_.file("runs/handover/metrics.jsonl"), 5, absl::Seconds(120)).ok())
        << ::nmoe::testing::ReadWholeFile(WorkerLog("first"));
    first.Kill(SIGTERM);
    auto code = first.Wait(absl::Seconds(60));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(WorkerLog("first"));
  }
  // Back in the queue without using the restart budget.
  v1::Job job = WaitFor(id, [](const v1::Job& j) { return j.attempt() == 2; });
  EXPECT_EQ(job.state(), v1::JOB_STATE_RETRYING);
  EXPECT_EQ(job.last_transition().reason(), "WORKER_SHUTDOWN");
  EXPECT_THAT(job.last_transition().message(), HasSubstr("shutting down"));
  EXPECT_EQ(job.restarts_used(), 0u);
  bool checkpoint = false;
  for (const auto& entry : fs::directory_iterator(dir_.path() / "runs" / "handover" / "checkpoints")) {
    checkpoint = checkpoint || fs::exists(entry.path() / "trainer_state.json");
  }
  EXPECT_TRUE(checkpoint);

  testing::ChildProcess second = StartWorker("second");
  job = WaitForState(id, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.progress().done(), 120u);
  const std::string text = LogText(Events(id));
  EXPECT_THAT(text, HasSubstr("resumed from"));
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(WorkerLog("second")), HasSubstr("resumed from"));
  // The resumed run rewrote the steps after the checkpoint: one line per step.
  auto lines = testing::WaitForFileLines(dir_.file("runs/handover/metrics.jsonl"), 120, absl::Seconds(1));
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->size(), 120u);
}

}  // namespace
}  // namespace nmoe
