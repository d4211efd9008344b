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
#include "tests/support/worker_e2e.h"

namespace nmoe::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kOld = {"en", "es"};
const std::vector<std::string> kNew = {"fr", "tr"};  // Latin script: the micro model's layer similarities stay positive

struct MicroOptions {
  int stage1_steps = 4;
  int checkpoint_interval_steps = 0;  // 0 = the trainer's default
  int max_restarts = 1;
};

std::string MicroPipelineYaml(const MicroOptions& o = {}) {
  const std::string corpus = absl::StrCat(SourceDir(), "/tests/data/corpus");
  std::string corpora, heldout;
  for (const auto* langs : {&kOld, &kNew}) {
    for (const auto& l : *langs) {
      absl::StrAppend(&corpora, "    - {language: ", l, ", paths: [", corpus, "/", l, "/train.txt]}\n");
      absl::StrAppend(&heldout, "    - {language: ", l, ", paths: [", corpus, "/", l, "/validation.txt]}\n");
    }
  }
  return absl::StrCat(
      "name: micro\nresources: {num_workers: 1, dtype: COMPUTE_DTYPE_FP32}\nmax_restarts: ", o.max_restarts,
      "\npipeline:\n"
      "  pretrain:\n    preset: tiny\n    tokenizer_vocab_size: 512\n"
      "    stage: {sequence_length: 32, steps: 60, batch_sequences: 8, learning_rate: 3.0e-3, warmup_steps: 5}\n"
      "  old_languages: [en, es]\n  new_languages: [fr, tr]\n  corpora:\n",
      corpora, "  heldout:\n", heldout,
      "  profile: {sentences_per_language: 16, max_sentence_tokens: 192, top_n: 40, batch_tokens: 2048}\n"
      "  allocations:\n"
      "    - {strategy: ALLOCATION_STRATEGY_NEURON_GUIDED, max_experts: 3}\n"
      "    - {strategy: ALLOCATION_STRATEGY_LAYER_SIMILARITY, budget: 7}\n"
      "    - {strategy: ALLOCATION_STRATEGY_UNIFORM}\n"
      "  stages:\n"
      "    - {name: stage1, trainable: TRAINABLE_EXPERTS_AND_ROUTERS, sequence_length: 32, steps: ", o.stage1_steps,
      ", batch_sequences: 4, learning_rate: 3.0e-3}\n"
      "    - {name: stage2, trainable: TRAINABLE_ROUTERS, sequence_length: 32, steps: 2, batch_sequences: 4,"
      " learning_rate: 1.0e-3}\n"
      "  evaluate: {sequence_length: 32, max_tokens_per_language: 1500}\n",
      o.checkpoint_interval_steps > 0 ? absl::StrCat("  checkpoint_interval_steps: ", o.checkpoint_interval_steps, "\n")
                                      : std::string(),
      "  output_path: runs/micro\n  seed: 5\n");
}

class PipelineE2eTest : public WorkerE2eTest {
 protected:
  template <typename Response, typename Request, typename Method>
  Response Get(Method method, const Request& request) {
    auto r = client_->Call(client_->results(), method, request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Response();
  }
  v1::Evaluation Evaluation(const std::string& job) {
    v1::GetEvaluationRequest request;
    request.set_job_id(job);
    return Get<v1::Evaluation>(&v1::ResultsService::Stub::GetEvaluation, request);
  }
  v1::Plan PlanOf(const std::string& job) {
    v1::ListPlansRequest request;
    request.set_job_id(job);
    auto plans = Get<v1::ListPlansResponse>(&v1::ResultsService::Stub::ListPlans, request);
    EXPECT_EQ(plans.plans_size(), 1) << job;
    return plans.plans_size() > 0 ? plans.plans(0) : v1::Plan();
  }
  // Stage name -> child job id; every stage of a finished pipeline succeeded.
  std::map<std::string, std::string> SucceededStages(const v1::Job& job) {
    std::map<std::string, std::string> stage_jobs;
    for (const auto& s : job.stages()) {
      EXPECT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED) << s.name();
      stage_jobs[s.name()] = s.job_id();
    }
    EXPECT_EQ(stage_jobs.size(), 15u);
    return stage_jobs;
  }
  // Model ("base", or a plan's label) -> its stored evaluation.
  std::map<std::string, v1::Evaluation> Evaluations(std::map<std::string, std::string>& stage_jobs) {
    std::map<std::string, v1::Evaluation> evaluations;
    for (const char* model : {"base", "neuron-guided", "layer-similarity", "uniform"}) {
      evaluations[model] = Evaluation(stage_jobs[absl::StrCat("evaluate/", model)]);
      EXPECT_EQ(evaluations[model].languages_size(), 4) << model;
    }
    return evaluations;
  }
};

// The report's perplexity table has every model's row with its stored perplexities.
void ExpectReportShows(const std::string& md, const std::map<std::string, v1::Evaluation>& evaluations) {
  for (const auto& [model, evaluation] : evaluations) {
    // The model's row of the perplexity table (the first table in the report).
    const std::string row_start = absl::StrCat("| ", model == "base" ? "dense base" : model, " | ");
    const size_t at = md.find(row_start);
    ASSERT_NE(at, std::string::npos) << model << "\n" << md;
    const std::string row = md.substr(at, md.find('\n', at) - at);
    for (const auto& l : evaluation.languages()) {
      EXPECT_THAT(row, HasSubstr(fmt::format("| {:.1f}", std::exp(l.nll())))) << model << " " << l.language();
    }
  }
}

TEST_F(PipelineE2eTest, MicroPipelineRunsEveryStageAndReportsTheStoredNumbers) {
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
  const auto summary = Get<v1::ProfileSummary>(&v1::ResultsService::Stub::GetProfileSummary, summary_request);
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

TEST_F(PipelineE2eTest, SurvivesAKilledWorkerMidTrainingAndAKilledCoordinatorMidPipeline) {
  CoordinatorFlags flags;
  flags.lease_ttl = "3";  // a dead worker's task is given back after 3 s
  StartCoordinator(flags);
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  MicroOptions options;
  options.stage1_steps = 150;  // long enough to be caught mid-training
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
  v1::ListJobsRequest list;
  list.set_page_size(1000);
  auto all = client_->Call(client_->jobs(), &v1::JobService::Stub::ListJobs, list);
  ASSERT_TRUE(all.ok()) << all.status();
  int children = 0;
  for (const auto& j : all->jobs()) children += j.parent_job_id() == id;
  EXPECT_EQ(children, 15);

  v1::GetReportRequest report_request;
  report_request.set_job_id(id);
  const auto report = Get<v1::Report>(&v1::ResultsService::Stub::GetReport, report_request);
  ExpectReportShows(report.markdown(), Evaluations(stage_jobs));
  EXPECT_EQ(report.figures_size(), 3);
}

}  // namespace
}  // namespace nmoe::testing
