#include "tests/coordinator/micro_pipeline.h"

#include <cmath>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace nmoe::testing {

using ::testing::HasSubstr;

std::string MicroPipelineYaml(const MicroOptions& o) {
  const std::string corpus = absl::StrCat(SourceDir(), "/tests/data/corpus");
  std::string corpora, heldout;
  for (const auto* langs : {&kMicroOld, &kMicroNew}) {
    for (const auto& l : *langs) {
      absl::StrAppend(&corpora, "    - {language: ", l, ", paths: [", corpus, "/", l, "/train.txt]}\n");
      absl::StrAppend(&heldout, "    - {language: ", l, ", paths: [", corpus, "/", l, "/validation.txt]}\n");
    }
  }
  return absl::StrCat(
      "name: ", o.name, "\nresources: {num_workers: 1, dtype: COMPUTE_DTYPE_FP32}\nmax_restarts: ", o.max_restarts,
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
      "  output_path: ", o.output, "\n  seed: 5\n");
}

namespace {
template <typename Response, typename Request, typename Method>
Response Get(cli::Client& client, Method method, const Request& request) {
  auto r = client.Call(client.results(), method, request);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : Response();
}
}  // namespace

v1::Evaluation PipelineTest::Evaluation(const std::string& job) {
  v1::GetEvaluationRequest request;
  request.set_job_id(job);
  return Get<v1::Evaluation>(*client_, &v1::ResultsService::Stub::GetEvaluation, request);
}

v1::Plan PipelineTest::PlanOf(const std::string& job) {
  v1::ListPlansRequest request;
  request.set_job_id(job);
  auto plans = Get<v1::ListPlansResponse>(*client_, &v1::ResultsService::Stub::ListPlans, request);
  EXPECT_EQ(plans.plans_size(), 1) << job;
  return plans.plans_size() > 0 ? plans.plans(0) : v1::Plan();
}

v1::Report PipelineTest::Report(const std::string& pipeline_job) {
  v1::GetReportRequest request;
  request.set_job_id(pipeline_job);
  return Get<v1::Report>(*client_, &v1::ResultsService::Stub::GetReport, request);
}

std::map<std::string, std::string> PipelineTest::SucceededStages(const v1::Job& job) {
  std::map<std::string, std::string> stage_jobs;
  for (const auto& s : job.stages()) {
    EXPECT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED) << s.name();
    stage_jobs[s.name()] = s.job_id();
  }
  EXPECT_EQ(stage_jobs.size(), kMicroStages);
  return stage_jobs;
}

std::map<std::string, v1::Evaluation> PipelineTest::Evaluations(std::map<std::string, std::string>& stage_jobs) {
  std::map<std::string, v1::Evaluation> evaluations;
  for (const char* model : {"base", "neuron-guided", "layer-similarity", "uniform"}) {
    evaluations[model] = Evaluation(stage_jobs[absl::StrCat("evaluate/", model)]);
    EXPECT_EQ(evaluations[model].languages_size(), 4) << model;
  }
  return evaluations;
}

int PipelineTest::Children(const std::string& pipeline_job) {
  v1::ListJobsRequest list;
  list.set_page_size(1000);
  auto all = client_->Call(client_->jobs(), &v1::JobService::Stub::ListJobs, list);
  EXPECT_TRUE(all.ok()) << all.status();
  int children = 0;
  if (all.ok()) {
    for (const auto& j : all->jobs()) children += j.parent_job_id() == pipeline_job;
  }
  return children;
}

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


}  // namespace nmoe::testing
