#include "coordinator/pipeline_driver.h"

#include <map>

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/job_states.h"
#include "coordinator/pipeline_plan.h"
#include "coordinator/pipeline_report.h"

namespace nmoe::coordinator {
namespace {

using absl::StrCat;
using google::protobuf::util::MessageDifferencer;

bool Succeeded(const v1::PipelineStage& s) { return s.state() == v1::JOB_STATE_SUCCEEDED; }

const v1::PipelineStage* FindStage(const std::vector<v1::PipelineStage>& stages, const std::string& name) {
  for (const auto& s : stages) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

bool Ready(const std::vector<v1::PipelineStage>& stages, const v1::PipelineStage& stage) {
  for (const auto& need : stage.needs()) {
    const auto* s = FindStage(stages, need);
    if (s == nullptr || !Succeeded(*s)) return false;
  }
  return true;
}

// The pipeline's progress: a running stage's progress (the first in stage order
// that reports any) under "[done/total] <stage>: ", with the counts of stages
// among the metrics.
v1::Progress PipelineProgress(const std::vector<v1::PipelineStage>& stages,
                              const std::map<std::string, v1::Job>& children) {
  v1::Progress progress;
  uint64_t done = 0;
  size_t running = 0;
  std::string first_waiting;  // "<stage>: waiting for workers" or "<stage>: starting"
  for (const auto& s : stages) {
    if (Succeeded(s)) ++done;
    if (s.job_id().empty() || IsTerminal(s.state())) continue;
    ++running;
    if (first_waiting.empty()) {
      const bool leased = s.state() == v1::JOB_STATE_RUNNING;
      first_waiting = StrCat(s.name(), leased ? ": starting" : ": waiting for workers");
    }
    auto it = children.find(s.name());
    if (progress.stage().empty() && it != children.end() && it->second.has_progress()) {
      progress = it->second.progress();
      progress.set_stage(StrCat(s.name(), ": ", it->second.progress().stage()));
    }
  }
  if (progress.stage().empty()) {
    if (done == stages.size()) {
      progress.set_stage("report");
    } else {
      progress.set_stage(running == 0 ? "waiting" : first_waiting);
    }
  }
  progress.set_stage(StrCat("[", done, "/", stages.size(), "] ", progress.stage()));
  (*progress.mutable_metrics())["stages_done"] = static_cast<double>(done);
  (*progress.mutable_metrics())["stages_total"] = static_cast<double>(stages.size());
  (*progress.mutable_metrics())["stages_running"] = static_cast<double>(running);
  return progress;
}

bool SameStages(const std::vector<v1::PipelineStage>& a, const google::protobuf::RepeatedPtrField<v1::PipelineStage>& b) {
  if (a.size() != static_cast<size_t>(b.size())) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!MessageDifferencer::Equals(a[i], b[static_cast<int>(i)])) return false;
  }
  return true;
}

}  // namespace

void PipelineDriver::Step() {
  for (const v1::Job& pipeline : cp_->ActivePipelines()) {
    if (auto s = Drive(pipeline); !s.ok()) {
      spdlog::warn("pipeline {}: {} (retrying)", pipeline.id(), s.ToString());
    }
  }
}

absl::Status PipelineDriver::Drive(const v1::Job& pipeline) {
  ControlPlane::PipelineUpdate update;
  update.stages = pipeline.stages().empty()
                      ? PipelineStages(pipeline)
                      : std::vector<v1::PipelineStage>(pipeline.stages().begin(), pipeline.stages().end());
  if (pipeline.state() == v1::JOB_STATE_PENDING) {
    update.to = v1::JOB_STATE_RUNNING;
    update.reason = "STARTED";
    update.message = StrCat("running ", update.stages.size(), " stages");
  }
  auto fail = [&](const std::string& reason, const std::string& message) {
    update.to = v1::JOB_STATE_FAILED;
    update.reason = reason;
    update.message = message;
    return cp_->UpdatePipeline(pipeline.id(), update);
  };

  // The children's states.
  std::map<std::string, v1::Job> children;
  for (auto& stage : update.stages) {
    if (stage.job_id().empty()) continue;
    NMOE_ASSIGN_OR_RETURN(v1::Job child, cp_->GetJob(stage.job_id()));
    stage.set_state(child.state());
    children[stage.name()] = std::move(child);
  }

  // A stage that failed (after its own restarts) or was cancelled fails the pipeline.
  for (const auto& stage : update.stages) {
    if (stage.state() != v1::JOB_STATE_FAILED && stage.state() != v1::JOB_STATE_CANCELLED) continue;
    const std::string message = StrCat("stage ", stage.name(), " (job ", stage.job_id(), ") ",
                                       StateName(stage.state()), ": ",
                                       children[stage.name()].last_transition().message());
    for (auto& other : update.stages) {
      if (other.job_id().empty() || IsTerminal(other.state())) continue;
      auto cancelled = cp_->CancelJob(other.job_id(), StrCat("pipeline ", pipeline.id(), " failed: ", message));
      if (cancelled.ok()) other.set_state(cancelled->state());
    }
    return fail("STAGE_FAILED", message);
  }

  // Submit every stage whose inputs exist.
  StageOutputs outputs;
  outputs.job_id = [&](const std::string& name) -> std::optional<std::string> {
    const auto* s = FindStage(update.stages, name);
    if (s == nullptr || !Succeeded(*s)) return std::nullopt;
    return s->job_id();
  };
  outputs.plan_of_job = [&](const std::string& job_id) -> absl::StatusOr<v1::Plan> {
    NMOE_ASSIGN_OR_RETURN(auto page, results_->ListPlans(job_id, 1, ""));
    if (page.items.empty()) return absl::NotFoundError(StrCat("job ", job_id, " stored no plan"));
    return page.items.front();
  };
  for (auto& stage : update.stages) {
    if (!stage.job_id().empty() || !Ready(update.stages, stage)) continue;
    auto spec = ChildSpec(pipeline, stage, outputs);
    if (!spec.ok()) return fail("STAGE_SPEC", StrCat("stage ", stage.name(), ": ", spec.status().message()));
    v1::SubmitJobRequest request;
    *request.mutable_spec() = *std::move(spec);
    request.set_idempotency_key(ChildIdempotencyKey(pipeline.id(), stage.name()));
    auto submitted = cp_->SubmitChildJob(request, pipeline.id());
    if (absl::IsInvalidArgument(submitted.status())) {
      return fail("STAGE_REJECTED", StrCat("stage ", stage.name(), ": ", submitted.status().message()));
    }
    if (!submitted.ok()) return submitted.status();
    stage.set_job_id(submitted->job().id());
    stage.set_state(submitted->job().state());
    children[stage.name()] = submitted->job();
  }

  bool all_done = true;
  for (const auto& stage : update.stages) all_done = all_done && Succeeded(stage);
  if (all_done) {
    auto report = Report(pipeline, update.stages, children);
    if (!report.ok()) return fail("REPORT_FAILED", StrCat("report: ", report.status().message()));
    NMOE_RETURN_IF_ERROR(results_->PutReport(*report));
    update.to = v1::JOB_STATE_SUCCEEDED;
    update.reason = "REPORT_READY";
    update.message = StrCat("all ", update.stages.size(), " stages succeeded; nmoectl report ", pipeline.id());
  }

  v1::Progress progress = PipelineProgress(update.stages, children);
  if (!MessageDifferencer::Equals(progress, pipeline.progress())) update.progress = std::move(progress);
  if (!update.to.has_value() && !update.progress.has_value() && SameStages(update.stages, pipeline.stages())) {
    return absl::OkStatus();
  }
  return cp_->UpdatePipeline(pipeline.id(), update);
}

absl::StatusOr<v1::Report> PipelineDriver::Report(const v1::Job& pipeline,
                                                  const std::vector<v1::PipelineStage>& stages,
                                                  const std::map<std::string, v1::Job>& children) {
  ReportInputs inputs;
  inputs.stage_jobs = children;
  for (const auto& stage : stages) {
    const std::string& name = stage.name();
    const auto [step, plan] = SplitStageName(name);
    const std::string label = plan.empty() ? "base" : plan;  // the profile stage is the base's
    if (step == "allocate") {
      NMOE_ASSIGN_OR_RETURN(auto page, results_->ListPlans(stage.job_id(), 1, ""));
      if (page.items.empty()) return absl::NotFoundError(StrCat("stage ", name, " stored no plan"));
      inputs.plans[label] = page.items.front();
    } else if (step == "evaluate") {
      NMOE_ASSIGN_OR_RETURN(auto evaluation, results_->GetEvaluation(stage.job_id()));
      if (!evaluation) return absl::NotFoundError(StrCat("stage ", name, " stored no evaluation"));
      inputs.evaluations[label] = *std::move(evaluation);
    } else if (step == "profile" || step == "reprofile") {
      NMOE_ASSIGN_OR_RETURN(auto summary, results_->GetProfileSummary(stage.job_id()));
      if (!summary) return absl::NotFoundError(StrCat("stage ", name, " stored no profile summary"));
      inputs.profiles[label] = *std::move(summary);
    }
  }
  v1::Job finished = pipeline;
  finished.clear_stages();
  for (const auto& s : stages) *finished.add_stages() = s;
  return BuildPipelineReport(finished, inputs, absl::Now());
}

}  // namespace nmoe::coordinator
