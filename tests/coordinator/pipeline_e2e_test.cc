// A whole pipeline through the real processes: nmoe-coordinator, two
// nmoe-worker processes, and the built nmoectl for the report. A micro version
// of examples/jobs/pipeline-tiny.yaml on the committed sample corpus: pretrain a
// tiny model, profile, three plans, two training stages each, evaluations,
// re-profiles, report. Checks every stage's stored output and that the report's
// numbers are the stored evaluations'. A second run kills a worker mid-training
// and the coordinator mid-pipeline (SIGKILL) and still gets a complete report.
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/support/files.h"
#include "tests/coordinator/micro_pipeline.h"

namespace nmoe::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(PipelineTest, MicroPipelineRunsEveryStageAndReportsTheStoredNumbers) {
  StartCoordinator();
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  const std::string id = Submit(MicroPipelineYaml());
  const v1::Job job = WaitFor(
      id, [](const v1::Job& j) { return j.state() >= v1::JOB_STATE_SUCCEEDED; }, absl::Minutes(12));
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED)
      << job.last_transition().message() << "\n"
      << ReadWholeFile(WorkerLog("w1")) << ReadWholeFile(WorkerLog("w2"));

  std::map<std::string, std::string> stage_jobs = SucceededStages(job);
  ASSERT_EQ(stage_jobs.size(), 15u);

  // The profile's summary names the model's layers; the plans cover them.
  v1::GetProfileSummaryRequest summary_request;
  summary_request.set_job_id(stage_jobs["profile"]);
  auto summary_or = client_->Call(client_->results(), &v1::ResultsService::Stub::GetProfileSummary, summary_request);
  ASSERT_TRUE(summary_or.ok()) << summary_or.status();
  const v1::ProfileSummary& summary = *summary_or;
  EXPECT_EQ(summary.languages_size(), 4);
  std::map<std::string, v1::Plan> plans;
  for (const char* label : {"neuron-guided", "layer-similarity", "uniform"}) {
    plans[label] = PlanOf(stage_jobs[absl::StrCat("allocate/", label)]);
    EXPECT_EQ(plans[label].experts_per_layer_size(), 4) << label;  // the tiny preset's layers
  }
  const auto& ng = plans["neuron-guided"];
  const long mean = std::lround(double(ng.total_experts()) / ng.experts_per_layer_size());
  for (uint32_t n : plans["uniform"].experts_per_layer()) EXPECT_EQ(long(n), std::max(1L, mean));

  // Every trained model's config records its plan's experts per layer.
  for (const auto& [label, plan] : plans) {
    std::ifstream in(dir_.file(absl::StrCat("runs/micro/train/", label, "/config.json")));
    ASSERT_TRUE(in) << label;
    const auto config = nlohmann::json::parse(in);
    std::vector<uint32_t> want(plan.experts_per_layer().begin(), plan.experts_per_layer().end());
    EXPECT_EQ(config.at("nmoe_experts_per_layer").get<std::vector<uint32_t>>(), want) << label;
  }

  // Evaluations: every language, routing for MoE layers only.
  std::map<std::string, v1::Evaluation> evaluations = Evaluations(stage_jobs);
  EXPECT_TRUE(evaluations["base"].routing().empty());
  int moe_layers = 0;
  for (uint32_t n : ng.experts_per_layer()) moe_layers += n >= 2;
  EXPECT_EQ(evaluations["neuron-guided"].routing_size(), moe_layers);

  // The report (through nmoectl, as users get it) shows the stored perplexities.
  const std::string report_dir = dir_.file("report");
  auto ctl = ChildProcess::Start({BuildPath("cli/nmoectl"), "--address", absl::StrCat("127.0.0.1:", port_),
                                  "--token-file", dir_.file("tokens"), "report", id, "--dir", report_dir},
                                 dir_.file("nmoectl.log"));
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  auto exit_code = ctl->Wait(absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  ASSERT_EQ(*exit_code, 0) << ReadWholeFile(dir_.file("nmoectl.log"));
  const std::string md = ReadWholeFile(report_dir + "/report.md");
  ExpectReportShows(md, evaluations);
  for (const auto& [label, plan] : plans) {
    EXPECT_THAT(md, HasSubstr(fmt::format("| {} | {} (", label, plan.total_experts())));
  }
  for (const char* figure : {"experts-per-layer.svg", "perplexity.svg", "language-neurons-per-layer.svg"}) {
    EXPECT_THAT(ReadWholeFile(report_dir + "/" + figure), HasSubstr("<svg")) << figure;
  }
}

TEST_F(PipelineTest, SurvivesAKilledWorkerMidTrainingAndAKilledCoordinatorMidPipeline) {
  CoordinatorFlags flags;
  flags.lease_ttl = "3";  // a dead worker's task is given back after 3 s
  StartCoordinator(flags);
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  MicroOptions options;
  options.stage1_steps = 600;  // ~10 s: caught mid-training even when polling lags by seconds (150 was not, under load)
  options.checkpoint_interval_steps = 10;
  options.max_restarts = 3;
  const std::string id = Submit(MicroPipelineYaml(options));

  // 1. A training stage past its first checkpoint: SIGKILL the worker running it.
  std::string train_job;
  WaitFor(
      id,
      [&](const v1::Job& j) {
        for (const auto& s : j.stages()) {
          if (s.name().rfind("train/", 0) == 0 && s.state() == v1::JOB_STATE_RUNNING) train_job = s.job_id();
        }
        return !train_job.empty();
      },
      absl::Minutes(5));
  ASSERT_FALSE(train_job.empty());
  const v1::Job training = WaitFor(train_job, [](const v1::Job& j) {
    return j.progress().unit() == "steps" && j.progress().done() >= 25 && j.worker_ids_size() == 1;
  });
  ASSERT_EQ(training.state(), v1::JOB_STATE_RUNNING) << training.ShortDebugString();
  const std::string victim_id = training.worker_ids(0);
  ChildProcess* victim = victim_id == WorkerId("w1") ? &w1 : &w2;
  ASSERT_TRUE(victim_id == WorkerId("w1") || victim_id == WorkerId("w2")) << victim_id;
  victim->Kill(SIGKILL);
  ASSERT_TRUE(victim->Wait(absl::Seconds(10)).ok());
  auto w3 = StartWorker("w3");  // the replacement, as an operator (or Kubernetes) would start it

  // The stage runs again (attempt 2) from its checkpoint, not from step 0.
  const v1::Job retried = WaitFor(train_job, [](const v1::Job& j) {
    return j.attempt() >= 2 && j.state() == v1::JOB_STATE_RUNNING && j.progress().unit() == "steps";
  });
  ASSERT_GE(retried.attempt(), 2u) << retried.ShortDebugString();

  // 2. Later (the training stages done or nearly), SIGKILL the coordinator and restart it on its port.
  WaitFor(
      id,
      [](const v1::Job& j) {
        int done = 0;
        for (const auto& s : j.stages()) done += s.state() == v1::JOB_STATE_SUCCEEDED;
        return done >= 8;
      },
      absl::Minutes(5));
  coordinator_->Kill(SIGKILL);
  ASSERT_EQ(*coordinator_->Wait(absl::Seconds(10)), 128 + SIGKILL);
  flags.port = port_;
  StartCoordinator(flags);

  const v1::Job job = WaitFor(
      id, [](const v1::Job& j) { return j.state() >= v1::JOB_STATE_SUCCEEDED; }, absl::Minutes(10));
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED)
      << job.last_transition().message() << "\n"
      << ReadWholeFile(WorkerLog("w3")) << ReadWholeFile(dir_.file("coordinator.log"));
  std::map<std::string, std::string> stage_jobs = SucceededStages(job);
  EXPECT_THAT(LogText(Events(train_job)), ::testing::ContainsRegex("resuming at step [1-9][0-9]*"));
  // Each stage ran as one job: no stage was submitted twice across the coordinator's restart.
  EXPECT_EQ(Children(id), 15);

  const auto report = Report(id);
  ExpectReportShows(report.markdown(), Evaluations(stage_jobs));
  EXPECT_EQ(report.figures_size(), 3);
}

}  // namespace
}  // namespace nmoe::testing
