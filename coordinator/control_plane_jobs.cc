// ControlPlane: the client-facing job operations.
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/paging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/control_plane.h"
#include "coordinator/job_states.h"
#include "common/job_validation.h"
#include "common/spec_limits.h"

namespace nmoe::coordinator {
namespace {

constexpr size_t kDefaultPageSize = 100;
constexpr size_t kMaxPageSize = 1000;

size_t PageSize(uint32_t requested) { return ClampPageSize(requested, kDefaultPageSize, kMaxPageSize); }

}  // namespace

absl::StatusOr<v1::SubmitJobResponse> ControlPlane::SubmitJob(const v1::SubmitJobRequest& request) {
  return Submit(request, "");
}

absl::StatusOr<v1::SubmitJobResponse> ControlPlane::SubmitChildJob(const v1::SubmitJobRequest& request,
                                                                   const std::string& parent_job_id) {
  if (parent_job_id.empty()) return absl::InvalidArgumentError("parent_job_id: is required");
  return Submit(request, parent_job_id);
}

absl::StatusOr<v1::SubmitJobResponse> ControlPlane::Submit(const v1::SubmitJobRequest& request,
                                                           const std::string& parent_job_id) {
  NMOE_RETURN_IF_ERROR(CheckSpecLimits(request.spec()));
  NMOE_RETURN_IF_ERROR(ValidateSubmitRequest(request));
  // Relative paths resolve on the workers, which check them against their own roots.
  NMOE_RETURN_IF_ERROR(options_.data_roots.CheckSpec(request.spec(), std::nullopt));
  Touched touched;
  v1::SubmitJobResponse response;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    if (!request.idempotency_key().empty()) {
      auto it = idempotency_keys_.find(request.idempotency_key());
      if (it != idempotency_keys_.end()) {
        const v1::Job& existing = jobs_.at(it->second);
        if (!google::protobuf::util::MessageDifferencer::Equals(existing.spec(), request.spec())) {
          return absl::InvalidArgumentError(absl::StrCat("idempotency_key: already used by job ", existing.id(),
                                                         " with a different spec"));
        }
        *response.mutable_job() = existing;
        response.set_created(false);
        // The job may still be unsynced (its submission's sync is running or
        // failed): the retry is acknowledged only once it is durable.
        touched.needs_sync = true;
        return absl::OkStatus();
      }
    }
    const absl::Time now = clock_->Now();
    v1::Job job;
    std::string id;
    do {
      id = NewId("job", now);
    } while (jobs_.count(id));
    job.set_id(id);
    *job.mutable_spec() = request.spec();
    job.set_kind(KindOf(request.spec()));
    job.set_idempotency_key(request.idempotency_key());
    job.set_parent_job_id(parent_job_id);
    *job.mutable_create_time() = ToProtoTime(now);
    job.set_attempt(1);
    job.set_max_restarts(request.spec().has_max_restarts() ? request.spec().max_restarts()
                                                           : options_.default_max_restarts);
    // A pipeline runs as stage jobs (PipelineDriver) and holds no task slots itself.
    const bool pipeline = job.kind() == v1::JOB_KIND_PIPELINE;
    const uint32_t gang = pipeline ? 0 : std::max<uint32_t>(1, request.spec().resources().num_workers());
    for (uint32_t r = 0; r < gang; ++r) job.add_worker_ids();
    job.set_state(v1::JOB_STATE_UNSPECIFIED);
    std::vector<v1::JobEvent> events;
    Transition(job, v1::JOB_STATE_PENDING, "SUBMITTED",
               pipeline ? std::string("waiting to plan its stages") : absl::StrCat("waiting for ", gang, " worker(s)"),
               events);
    NMOE_RETURN_IF_ERROR(store_.CreateJob(job, events, /*sync=*/false));
    touched.needs_sync = true;
    if (!job.idempotency_key().empty()) idempotency_keys_[job.idempotency_key()] = id;
    jobs_.emplace(id, job);
    UpdateQueue(job);
    CountJobState(v1::JOB_STATE_UNSPECIFIED, job.state());
    touched.jobs.insert(id);
    *response.mutable_job() = std::move(job);
    response.set_created(true);
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return response;
}

absl::StatusOr<v1::Job> ControlPlane::GetJob(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  return it->second;
}

absl::StatusOr<v1::ListJobsResponse> ControlPlane::ListJobs(const v1::ListJobsRequest& request) {
  for (int i = 0; i < request.states_size(); ++i) {
    if (!v1::JobState_IsValid(request.states(i)) || request.states(i) == v1::JOB_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("states[", i, "]: unknown state ", request.states(i)));
    }
  }
  for (int i = 0; i < request.kinds_size(); ++i) {
    if (!v1::JobKind_IsValid(request.kinds(i)) || request.kinds(i) == v1::JOB_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("kinds[", i, "]: unknown kind ", request.kinds(i)));
    }
  }
  if (!request.page_token().empty() && !IsWellFormedId("job", request.page_token())) {
    return absl::InvalidArgumentError("page_token: not a token this server issued");
  }
  const std::set<int> states(request.states().begin(), request.states().end());
  const std::set<int> kinds(request.kinds().begin(), request.kinds().end());
  const size_t page_size = PageSize(request.page_size());
  v1::ListJobsResponse response;
  std::lock_guard lock(mu_);
  // Newest first: walk ids downwards, starting below the token (the last id sent).
  auto it = request.page_token().empty() ? jobs_.end() : jobs_.lower_bound(request.page_token());
  while (it != jobs_.begin()) {
    --it;
    const v1::Job& job = it->second;
    if (!states.empty() && !states.count(job.state())) continue;
    if (!kinds.empty() && !kinds.count(job.kind())) continue;
    if (static_cast<size_t>(response.jobs_size()) == page_size) {
      response.set_next_page_token(response.jobs(response.jobs_size() - 1).id());
      break;
    }
    *response.add_jobs() = job;
  }
  return response;
}

absl::StatusOr<v1::Job> ControlPlane::CancelJob(const std::string& job_id, const std::string& reason) {
  Touched touched;
  v1::Job result;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    return CancelLocked(job_id, reason.empty() ? "cancelled by request" : reason, touched, &result);
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return result;
}

absl::Status ControlPlane::CancelLocked(const std::string& job_id, const std::string& message, Touched& touched,
                                        v1::Job* result) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  v1::Job job = it->second;
  std::vector<v1::JobEvent> events;
  switch (job.state()) {
    case v1::JOB_STATE_CANCELLED:
    case v1::JOB_STATE_CANCELLING:
      *result = job;  // already on its way: cancelling twice is not an error
      touched.needs_sync = true;  // acknowledged once durable, as the first cancel
      return absl::OkStatus();
    case v1::JOB_STATE_SUCCEEDED:
    case v1::JOB_STATE_FAILED:
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, " already ended ", StateName(job.state())));
    case v1::JOB_STATE_PENDING:
    case v1::JOB_STATE_RETRYING:
      for (auto& w : *job.mutable_worker_ids()) w.clear();
      Transition(job, v1::JOB_STATE_CANCELLED, "CANCEL_REQUESTED", message, events);
      break;
    default: {
      // Leased slots must be given up by their workers first; free slots close now.
      bool held = false;
      for (int rank = 0; rank < job.worker_ids_size(); ++rank) {
        const std::string& wid = job.worker_ids(rank);
        if (wid.empty()) continue;
        held = true;
        auto w = workers_.find(wid);
        if (w == workers_.end()) continue;
        const std::string task = TaskId(job.id(), job.attempt(), rank);
        if (w->second.worker.task_id() == task) w->second.worker.clear_task_id();
        w->second.revoked.insert(task);
      }
      Transition(job, held ? v1::JOB_STATE_CANCELLING : v1::JOB_STATE_CANCELLED, "CANCEL_REQUESTED", message,
                 events);
    }
  }
  *result = job;
  const std::vector<v1::PipelineStage> stages(job.stages().begin(), job.stages().end());
  NMOE_RETURN_IF_ERROR(Commit(std::move(job), std::move(events), /*sync=*/true, touched));
  // A pipeline's running stages go with it.
  for (const auto& stage : stages) {
    auto child = jobs_.find(stage.job_id());
    if (child == jobs_.end() || IsTerminal(child->second.state())) continue;
    v1::Job ignored;
    NMOE_RETURN_IF_ERROR(CancelLocked(stage.job_id(), absl::StrCat("pipeline ", job_id, " cancelled: ", message),
                                      touched, &ignored));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListJobEventsResponse> ControlPlane::ListJobEvents(const v1::ListJobEventsRequest& request) {
  {
    std::lock_guard lock(mu_);
    if (!jobs_.count(request.job_id())) {
      return absl::NotFoundError(absl::StrCat("job ", request.job_id(), " not found"));
    }
  }
  const size_t page_size = PageSize(request.page_size());
  NMOE_ASSIGN_OR_RETURN(auto events,
                        store_.ListEvents(request.job_id(), std::max<uint64_t>(1, request.from_seq()), page_size + 1));
  v1::ListJobEventsResponse response;
  for (size_t i = 0; i < events.size() && i < page_size; ++i) *response.add_events() = std::move(events[i]);
  if (events.size() > page_size) response.set_next_seq(events[page_size].seq());
  return response;
}

}  // namespace nmoe::coordinator
