// The PipelineDriver over a real ControlPlane and ResultsStore (in memory). The
// test plays the workers: it leases each stage's task, stores the results a real
// task of that kind would store (a plan, an evaluation, a profile summary) and
// completes it, so what is checked is the driver's orchestration: stage order,
// specs built from earlier outputs, failure, cancellation, restart, the report.
#include "coordinator/pipeline_driver.h"

#include <cmath>
#include <map>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/pipeline_plan.h"
#include "coordinator/pipeline_report.h"
#include "storage/memory_store.h"
#include "tests/coordinator/test_specs.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::PipelineSpec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Per-language NLL the fake evaluations report: the base 5.0, plans lower.
double FakeNll(const std::string& model_path, const std::string& language) {
  double nll = language == "el" ? 6.0 : 5.0;
  if (model_path.find("/train/") != std::string::npos) nll -= 0.5;
  return nll;
}

class PipelineDriverTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // A coordinator restart: new ControlPlane and driver over the same store.
  void Reopen() {
    driver_.reset();
    cp_.reset();
    auto cp = ControlPlane::Recover(&store_, &clock_, ControlPlaneOptions{}, nullptr);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
    driver_ = std::make_unique<PipelineDriver>(cp_.get(), &results_);
    v1::RegisterWorkerRequest request;
    request.mutable_capabilities()->set_device(v1::DEVICE_KIND_CPU);
    request.mutable_capabilities()->set_hostname("test");
    auto r = cp_->RegisterWorker(request);
    ASSERT_TRUE(r.ok()) << r.status();
    worker_ = r->worker_id();
  }

  std::string Submit(const v1::JobSpec& spec) {
    auto r = cp_->SubmitJob(testing::SubmitRequest(spec));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->job().id() : "";
  }

  v1::Job Job(const std::string& id) {
    auto j = cp_->GetJob(id);
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *j : v1::Job();
  }

  // Stores what a task of this kind stores.
  void StoreResults(const v1::Task& task) {
    const v1::JobSpec& spec = task.spec();
    if (spec.has_allocate()) {
      v1::Plan plan;
      plan.set_id("plan-" + task.job_id().substr(4));
      plan.set_job_id(task.job_id());
      plan.set_strategy(spec.allocate().strategy());
      switch (spec.allocate().strategy()) {
        case v1::ALLOCATION_STRATEGY_NEURON_GUIDED:
          for (uint32_t n : {1, 3, 2, 1}) plan.add_experts_per_layer(n);  // mean 1.75
          break;
        case v1::ALLOCATION_STRATEGY_UNIFORM:
          for (int l = 0; l < 4; ++l) plan.add_experts_per_layer(spec.allocate().uniform_experts());
          break;
        default:
          for (uint32_t n : {2, 2, 3, 3}) plan.add_experts_per_layer(n);
      }
      uint32_t total = 0;
      for (auto n : plan.experts_per_layer()) total += n;
      plan.set_total_experts(total);
      ASSERT_TRUE(results_.PutPlan(plan).ok());
    } else if (spec.has_evaluate()) {
      v1::Evaluation e;
      e.set_job_id(task.job_id());
      e.set_model_path(spec.evaluate().model().path());
      e.set_parameters(1000);
      for (const auto& c : spec.evaluate().heldout()) {
        auto* l = e.add_languages();
        l->set_language(c.language());
        l->set_tokens(100);
        l->set_nll(FakeNll(spec.evaluate().model().path(), c.language()));
        l->set_perplexity(std::exp(l->nll()));
      }
      ASSERT_TRUE(results_.PutEvaluation(e).ok());
    } else if (spec.has_profile()) {
      v1::ProfileSummary s;
      s.set_job_id(task.job_id());
      for (const auto& c : spec.profile().corpora()) {
        auto* lp = s.add_languages();
        lp->set_language(c.language());
        for (uint32_t layer = 0; layer < 4; ++layer) {
          auto* lc = lp->add_layers();
          lc->set_layer(layer);
          lc->set_total(layer + 1);
        }
      }
      ASSERT_TRUE(results_.PutProfileSummary(s).ok());
    }
  }

  // Driver passes and worker turns until nothing is leasable, `fail_stage`'s
  // task (if any) failing without retry. Returns the stage names in lease order.
  std::vector<std::string> Run(const std::string& fail_stage = "", int max_rounds = 50) {
    std::vector<std::string> leased;
    for (int round = 0; round < max_rounds; ++round) {
      driver_->Step();
      v1::LeaseTaskRequest lease;
      lease.set_worker_id(worker_);
      auto r = cp_->LeaseTask(lease);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok() || !r->has_task()) continue;
      const v1::Task& task = r->task();
      const std::string stage = task.spec().labels().at("stage");
      leased.push_back(stage);
      tasks_[stage] = task;
      if (stage == fail_stage) {
        v1::FailTaskRequest fail;
        fail.set_worker_id(worker_);
        fail.set_task_id(task.id());
        fail.set_reason("TASK_ERROR");
        fail.set_message("out of cheese");
        EXPECT_TRUE(cp_->FailTask(fail).ok());
        continue;
      }
      StoreResults(task);
      v1::CompleteTaskRequest done;
      done.set_worker_id(worker_);
      done.set_task_id(task.id());
      EXPECT_TRUE(cp_->CompleteTask(done).ok());
    }
    return leased;
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  storage::ResultsStore results_{&store_};
  std::unique_ptr<ControlPlane> cp_;
  std::unique_ptr<PipelineDriver> driver_;
  std::string worker_;
  std::map<std::string, v1::Task> tasks_;
};

TEST_F(PipelineDriverTest, RunsEveryStageInDependencyOrderAndStoresTheReport) {
  const std::string id = Submit(PipelineSpec());
  EXPECT_EQ(Job(id).stages_size(), 0);
  const auto leased = Run();
  const v1::Job job = Job(id);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.last_transition().message();
  EXPECT_EQ(job.last_transition().reason(), "REPORT_READY");
  EXPECT_EQ(job.progress().stage(), "[15/15] report");
  // One worker takes stages one at a time, in stage order among the ready ones.
  EXPECT_THAT(leased, ElementsAre("pretrain", "profile", "evaluate/base", "allocate/neuron-guided",
                                  "allocate/layer-similarity", "allocate/uniform", "train/neuron-guided",
                                  "train/layer-similarity", "train/uniform", "evaluate/neuron-guided",
                                  "reprofile/neuron-guided", "evaluate/layer-similarity",
                                  "reprofile/layer-similarity", "evaluate/uniform", "reprofile/uniform"));
  ASSERT_EQ(job.stages_size(), 15);
  for (const auto& s : job.stages()) {
    EXPECT_EQ(s.state(), v1::JOB_STATE_SUCCEEDED) << s.name();
    EXPECT_EQ(Job(s.job_id()).parent_job_id(), id);
  }

  // Specs built from the pipeline and earlier outputs.
  EXPECT_EQ(tasks_["pretrain"].spec().pretrain().output_path(), "out/mini/pretrain");
  ASSERT_EQ(tasks_["pretrain"].spec().pretrain().stage().corpora_size(), 2);  // old languages only
  const auto& profile = tasks_["profile"].spec().profile();
  EXPECT_EQ(profile.model().path(), "out/mini/pretrain");
  EXPECT_EQ(profile.corpora_size(), 3);
  EXPECT_TRUE(profile.layer_similarity());
  const std::string profile_job = tasks_["profile"].job_id();
  EXPECT_EQ(tasks_["allocate/layer-similarity"].spec().allocate().profile_job_id(), profile_job);
  // Uniform: the neuron-guided plan's mean, 7 experts / 4 layers = 1.75 -> 2.
  EXPECT_EQ(tasks_["allocate/uniform"].spec().allocate().uniform_experts(), 2u);
  const auto& train = tasks_["train/uniform"].spec().train();
  EXPECT_EQ(train.plan_id(), "plan-" + tasks_["allocate/uniform"].job_id().substr(4));
  EXPECT_EQ(train.base_model().path(), "out/mini/pretrain");
  ASSERT_EQ(train.stages_size(), 2);
  EXPECT_EQ(train.stages(0).trainable(), v1::TRAINABLE_EXPERTS_AND_ROUTERS);
  ASSERT_EQ(train.stages(0).corpora_size(), 1);
  EXPECT_EQ(train.stages(0).corpora(0).language(), "el");
  EXPECT_EQ(train.stages(1).trainable(), v1::TRAINABLE_ROUTERS);
  EXPECT_EQ(train.stages(1).corpora_size(), 3);
  EXPECT_THAT(train.stages(1).old_languages(), ElementsAre("en", "es"));
  EXPECT_EQ(tasks_["evaluate/uniform"].spec().evaluate().model().path(), "out/mini/train/uniform");
  EXPECT_THAT(tasks_["evaluate/uniform"].spec().evaluate().old_languages(), ElementsAre("en", "es"));
  EXPECT_EQ(tasks_["reprofile/uniform"].spec().profile().model().path(), "out/mini/train/uniform");
  EXPECT_FALSE(tasks_["reprofile/uniform"].spec().profile().layer_similarity());

  // The report: the stored numbers, changes against the base, figures.
  auto report = results_.GetReport(id);
  ASSERT_TRUE(report.ok() && report->has_value());
  const std::string& md = (*report)->markdown();
  // el: base exp(6) = 403.4; a plan exp(5.5) = 244.7 = -39.3%.
  EXPECT_THAT(md, HasSubstr("| dense base | dense | 1.0k | 403.4 | 148.4 | 148.4 | 403.4 | 148.4 |"));
  EXPECT_THAT(md, HasSubstr("| uniform | 8 (2.00/layer) | 1.0k | 244.7 (-39.3%) |"));
  EXPECT_THAT(md, HasSubstr("| neuron-guided | 7 (1.75/layer) |"));
  EXPECT_THAT(md, HasSubstr("| 3 | 12 | 12 | 12 | 12 |"));  // layer 3: 4 per language x 3 languages
  std::vector<std::string> figures;
  for (const auto& f : (*report)->figures()) {
    figures.push_back(f.file_name());
    EXPECT_THAT(f.svg(), HasSubstr("<svg"));
    EXPECT_THAT(md, HasSubstr("(" + f.file_name() + ")"));
  }
  EXPECT_THAT(figures, ElementsAre(kExpertsFigure, kNeuronsFigure, kPerplexityFigure));
}

TEST_F(PipelineDriverTest, AFailedStageFailsThePipelineNamingIt) {
  v1::JobSpec spec = PipelineSpec();
  spec.set_max_restarts(0);
  const std::string id = Submit(spec);
  const auto leased = Run("allocate/layer-similarity");
  const v1::Job job = Job(id);
  ASSERT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.last_transition().reason(), "STAGE_FAILED");
  EXPECT_THAT(job.last_transition().message(), HasSubstr("stage allocate/layer-similarity (job "));
  EXPECT_THAT(job.last_transition().message(), HasSubstr("out of cheese"));
  // Nothing after the failure was started; no stage is left running.
  EXPECT_THAT(leased, ::testing::Not(::testing::Contains("train/neuron-guided")));
  for (const auto& s : job.stages()) {
    if (!s.job_id().empty()) {
      EXPECT_TRUE(Job(s.job_id()).state() >= v1::JOB_STATE_SUCCEEDED) << s.name();
    }
  }
  auto report = results_.GetReport(id);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->has_value());
}

TEST_F(PipelineDriverTest, ARestartedCoordinatorContinuesWithoutDuplicateStages) {
  const std::string id = Submit(PipelineSpec());
  Run("", /*max_rounds=*/4);  // pretrain, profile, evaluate/base done
  ASSERT_EQ(Job(id).state(), v1::JOB_STATE_RUNNING);
  Reopen();
  Run();
  const v1::Job job = Job(id);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.last_transition().message();
  v1::ListJobsRequest list;
  list.set_page_size(1000);
  auto all = cp_->ListJobs(list);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->jobs_size(), 16);  // the pipeline and its 15 stages, none twice
}

TEST_F(PipelineDriverTest, ASubmittedButUnrecordedStageIsFoundAgainByItsKey) {
  // A crash between submitting a stage and recording it: the same key and spec
  // return the job already created.
  const std::string id = Submit(PipelineSpec());
  driver_->Step();
  const v1::Job job = Job(id);
  EXPECT_EQ(job.progress().stage(), "[0/15] pretrain: waiting for workers");
  ASSERT_EQ(job.stages(0).name(), "pretrain");
  const std::string pretrain_job = job.stages(0).job_id();
  ASSERT_FALSE(pretrain_job.empty());
  StageOutputs none{[](const std::string&) { return std::nullopt; },
                    [](const std::string&) -> absl::StatusOr<v1::Plan> { return absl::NotFoundError("none"); }};
  auto spec = ChildSpec(job, job.stages(0), none);
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto again = cp_->SubmitChildJob(testing::SubmitRequest(*spec, ChildIdempotencyKey(id, "pretrain")), id);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created());
  EXPECT_EQ(again->job().id(), pretrain_job);
}

TEST_F(PipelineDriverTest, CancellingThePipelineCancelsItsRunningStages) {
  const std::string id = Submit(PipelineSpec());
  driver_->Step();
  const std::string pretrain_job = Job(id).stages(0).job_id();
  auto cancelled = cp_->CancelJob(id, "changed my mind");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(Job(pretrain_job).state(), v1::JOB_STATE_CANCELLED);
  EXPECT_THAT(Job(pretrain_job).last_transition().message(), HasSubstr("changed my mind"));
  driver_->Step();  // an ended pipeline is left alone
  EXPECT_EQ(Job(id).state(), v1::JOB_STATE_CANCELLED);
}

TEST_F(PipelineDriverTest, PipelinesAreNeverLeasedThemselves) {
  Submit(PipelineSpec());
  v1::LeaseTaskRequest lease;
  lease.set_worker_id(worker_);
  auto r = cp_->LeaseTask(lease);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_task());
}

TEST_F(PipelineDriverTest, GivenUniformCountsAndABaseModelSkipPretrainAndTheReference) {
  v1::JobSpec spec = PipelineSpec();
  auto* p = spec.mutable_pipeline();
  p->clear_pretrain();
  p->mutable_base_model()->set_path("models/base");
  auto* a = p->add_allocations();
  a->set_strategy(v1::ALLOCATION_STRATEGY_UNIFORM);
  a->set_uniform_experts(3);
  p->set_reprofile(false);
  const std::string id = Submit(spec);
  const auto leased = Run();
  EXPECT_THAT(leased, ElementsAre("profile", "evaluate/base", "allocate/uniform", "train/uniform",
                                  "evaluate/uniform"));
  EXPECT_EQ(tasks_["allocate/uniform"].spec().allocate().uniform_experts(), 3u);
  EXPECT_FALSE(tasks_["profile"].spec().profile().layer_similarity());
  EXPECT_EQ(Job(id).state(), v1::JOB_STATE_SUCCEEDED);
}

TEST_F(PipelineDriverTest, UniformWithoutCountNeedsANeuronGuidedPlan) {
  v1::JobSpec spec = PipelineSpec();
  spec.mutable_pipeline()->add_allocations()->set_strategy(v1::ALLOCATION_STRATEGY_UNIFORM);
  auto r = cp_->SubmitJob(testing::SubmitRequest(spec));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(r.status().message(), HasSubstr("spec.pipeline.allocations[0].uniform_experts"));
}

}  // namespace
}  // namespace nmoe::coordinator
