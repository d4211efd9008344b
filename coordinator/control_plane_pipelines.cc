// ControlPlane: what the PipelineDriver reads and writes. A pipeline job holds
// no task slots; its stages are ordinary jobs with parent_job_id set.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/control_plane.h"
#include "coordinator/job_states.h"

namespace nmoe::coordinator {

std::vector<v1::Job> ControlPlane::ActivePipelines() {
  std::lock_guard lock(mu_);
  std::vector<v1::Job> pipelines;
  for (const auto& [id, job] : jobs_) {
    if (job.kind() == v1::JOB_KIND_PIPELINE && !IsTerminal(job.state())) pipelines.push_back(job);
  }
  return pipelines;
}

absl::Status ControlPlane::UpdatePipeline(const std::string& job_id, const PipelineUpdate& update) {
  Touched touched;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
    if (it->second.kind() != v1::JOB_KIND_PIPELINE) {
      return absl::InvalidArgumentError(absl::StrCat("job ", job_id, " is not a pipeline"));
    }
    v1::Job job = it->second;
    if (IsTerminal(job.state())) {
      return absl::FailedPreconditionError(absl::StrCat("pipeline ", job_id, " already ended ", StateName(job.state())));
    }
    job.clear_stages();
    for (const auto& stage : update.stages) *job.add_stages() = stage;
    std::vector<v1::JobEvent> events;
    if (update.progress.has_value()) {
      *job.mutable_progress() = *update.progress;
      v1::JobEvent event = NewEvent(job);
      *event.mutable_progress() = *update.progress;
      events.push_back(std::move(event));
    }
    bool sync = false;
    if (update.to.has_value()) {
      v1::JobState to = *update.to;
      if (to == v1::JOB_STATE_RUNNING && job.state() == v1::JOB_STATE_PENDING) {
        Transition(job, v1::JOB_STATE_SCHEDULED, "STAGES_PLANNED",
                   absl::StrCat(job.stages_size(), " stages planned"), events);
      }
      if (!IsAllowedTransition(job.state(), to)) {
        return absl::FailedPreconditionError(absl::StrCat("pipeline ", job_id, " cannot go from ",
                                                          StateName(job.state()), " to ", StateName(to)));
      }
      Transition(job, to, update.reason, update.message, events);
      sync = true;
    } else if (job.stages_size() != it->second.stages_size() ||
               !std::equal(job.stages().begin(), job.stages().end(), it->second.stages().begin(),
                           [](const v1::PipelineStage& a, const v1::PipelineStage& b) {
                             return a.job_id() == b.job_id();
                           })) {
      sync = true;  // a new stage job was recorded
    }
    return Commit(std::move(job), std::move(events), sync, touched);
  }();
  return Publish(touched, status);
}

}  // namespace nmoe::coordinator
