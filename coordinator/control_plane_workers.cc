// ControlPlane: the worker-facing operations (registration, heartbeats,
// leases, progress, completion) and the lease clock (Tick).
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/control_plane.h"
#include "coordinator/job_states.h"

namespace nmoe::coordinator {
namespace {

constexpr size_t kMaxReasonBytes = 64;
constexpr size_t kMaxLogLines = 100;
constexpr size_t kMaxLogBytes = 4096;
constexpr size_t kMaxMetrics = 64;

bool IsReasonCode(const std::string& reason) {
  if (reason.empty() || reason.size() > kMaxReasonBytes) return false;
  for (char c : reason) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) && !absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        c != '_') {
      return false;
    }
  }
  return true;
}

std::string Describe(const v1::Worker& w) {
  return w.capabilities().hostname().empty() ? w.id() : absl::StrCat(w.id(), " on ", w.capabilities().hostname());
}

}  // namespace

absl::StatusOr<ControlPlane::WorkerEntry*> ControlPlane::FindWorker(const std::string& worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.worker.state() == v1::WORKER_STATE_LEFT) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id, " is not registered; register again"));
  }
  return &it->second;
}

absl::StatusOr<v1::Job*> ControlPlane::HeldJob(const WorkerEntry& worker, const std::string& task_id) {
  if (worker.worker.task_id() != task_id || task_id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task_id, " is not leased to worker ", worker.worker.id()));
  }
  std::string job_id;
  uint32_t attempt, rank;
  if (!ParseTaskId(task_id, &job_id, &attempt, &rank)) {
    return absl::InvalidArgumentError(absl::StrCat("task_id: '", task_id, "' is not a task id"));
  }
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  return &it->second;
}

absl::StatusOr<v1::RegisterWorkerResponse> ControlPlane::RegisterWorker(const v1::RegisterWorkerRequest& request) {
  const auto& caps = request.capabilities();
  if (!v1::DeviceKind_IsValid(caps.device())) {
    return absl::InvalidArgumentError(absl::StrCat("capabilities.device: unknown value ", caps.device()));
  }
  if (caps.hostname().size() > 256 || caps.version().size() > 64) {
    return absl::InvalidArgumentError("capabilities: hostname or version too long");
  }
  std::lock_guard lock(mu_);
  const absl::Time now = clock_->Now();
  std::string id = request.previous_worker_id();
  WorkerEntry* entry = nullptr;
  if (!id.empty()) {
    auto it = workers_.find(id);
    if (it != workers_.end()) entry = &it->second;
  }
  if (!entry) {
    do {
      id = NewId("worker", now);
    } while (workers_.count(id));
    entry = &workers_[id];
    *entry->worker.mutable_register_time() = ToProtoTime(now);
  }
  entry->worker.set_id(id);
  *entry->worker.mutable_capabilities() = caps;
  entry->worker.set_state(entry->worker.task_id().empty() ? v1::WORKER_STATE_IDLE : v1::WORKER_STATE_BUSY);
  *entry->worker.mutable_last_heartbeat_time() = ToProtoTime(now);
  entry->last_seen = now;
  NMOE_RETURN_IF_ERROR(store_.PutWorker(entry->worker, /*sync=*/true));
  RefreshWorkerGauges();
  v1::RegisterWorkerResponse response;
  response.set_worker_id(id);
  response.set_heartbeat_interval_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  response.set_lease_ttl_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.lease_ttl)));
  return response;
}

absl::StatusOr<v1::HeartbeatResponse> ControlPlane::Heartbeat(const v1::HeartbeatRequest& request) {
  Touched touched;
  v1::HeartbeatResponse response;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(request.worker_id()));
    w->last_seen = clock_->Now();
    *w->worker.mutable_last_heartbeat_time() = ToProtoTime(w->last_seen);
    if (w->worker.state() == v1::WORKER_STATE_LOST) {
      w->worker.set_state(w->worker.task_id().empty() ? v1::WORKER_STATE_IDLE : v1::WORKER_STATE_BUSY);
    }
    const std::set<std::string> running(request.task_ids().begin(), request.task_ids().end());
    for (const auto& task : running) {
      if (task != w->worker.task_id()) response.add_revoked_task_ids(task);
    }
    // Revoked tasks the worker no longer runs are given up for good.
    for (auto it = w->revoked.begin(); it != w->revoked.end();) {
      if (running.count(*it)) {
        ++it;
        continue;
      }
      NMOE_RETURN_IF_ERROR(ReleaseCancelledSlot(*it, touched));
      it = w->revoked.erase(it);
    }
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return response;
}

absl::Status ControlPlane::ReleaseCancelledSlot(const std::string& task_id, Touched& touched) {
  std::string job_id;
  uint32_t attempt, rank;
  if (!ParseTaskId(task_id, &job_id, &attempt, &rank)) return absl::OkStatus();
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::OkStatus();
  const v1::Job& current = it->second;
  if (current.state() != v1::JOB_STATE_CANCELLING || current.attempt() != attempt ||
      rank >= static_cast<uint32_t>(current.worker_ids_size())) {
    return absl::OkStatus();
  }
  v1::Job job = current;
  job.mutable_worker_ids(rank)->clear();
  std::vector<v1::JobEvent> events;
  bool held = false;
  for (const auto& w : job.worker_ids()) held = held || !w.empty();
  if (!held) Transition(job, v1::JOB_STATE_CANCELLED, "CANCELLED", "every worker stopped", events);
  return Commit(std::move(job), std::move(events), /*sync=*/true, touched);
}

absl::StatusOr<v1::LeaseTaskResponse> ControlPlane::LeaseTask(const v1::LeaseTaskRequest& request) {
  Touched touched;
  v1::LeaseTaskResponse response;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(request.worker_id()));
    if (!w->worker.task_id().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", w->worker.id(), " already holds task ", w->worker.task_id()));
    }
    const auto device = [](v1::DeviceKind d) { return d == v1::DEVICE_KIND_UNSPECIFIED ? v1::DEVICE_KIND_CPU : d; };
    for (const std::string& job_id : queue_) {
      const v1::Job& current = jobs_.at(job_id);
      if (device(current.spec().resources().device()) != device(w->worker.capabilities().device())) continue;
      v1::Job job = current;
      int rank = 0;
      while (rank < job.worker_ids_size() && !job.worker_ids(rank).empty()) ++rank;
      *job.mutable_worker_ids(rank) = w->worker.id();
      std::vector<v1::JobEvent> events;
      if (job.state() != v1::JOB_STATE_SCHEDULED) {
        Transition(job, v1::JOB_STATE_SCHEDULED, "LEASED", absl::StrCat("gang forming: rank ", rank, " leased"), events);
      }
      bool full = true;
      for (const auto& wid : job.worker_ids()) full = full && !wid.empty();
      if (full) {
        Transition(job, v1::JOB_STATE_RUNNING, "GANG_READY",
                   absl::StrCat("all ", job.worker_ids_size(), " rank(s) leased"), events);
      }
      const std::string task_id = TaskId(job.id(), job.attempt(), rank);
      v1::Task* task = response.mutable_task();
      task->set_id(task_id);
      task->set_job_id(job.id());
      task->set_attempt(job.attempt());
      task->set_rank(rank);
      task->set_world_size(job.worker_ids_size());
      *task->mutable_spec() = job.spec();
      *task->mutable_lease_expire_time() = ToProtoTime(w->last_seen + options_.lease_ttl);
      NMOE_RETURN_IF_ERROR(Commit(std::move(job), std::move(events), /*sync=*/true, touched));
      w->worker.set_task_id(task_id);
      w->worker.set_state(v1::WORKER_STATE_BUSY);
      if (metrics_) metrics_->CountLease();
      break;
    }
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return response;
}

absl::StatusOr<v1::ReportProgressResponse> ControlPlane::ReportProgress(const v1::ReportProgressRequest& request) {
  if (static_cast<size_t>(request.logs_size()) > kMaxLogLines) {
    return absl::InvalidArgumentError(absl::StrCat("logs: at most ", kMaxLogLines, " lines per report"));
  }
  for (int i = 0; i < request.logs_size(); ++i) {
    if (request.logs(i).text().size() > kMaxLogBytes) {
      return absl::InvalidArgumentError(absl::StrCat("logs[", i, "].text: longer than ", kMaxLogBytes, " bytes"));
    }
  }
  if (static_cast<size_t>(request.progress().metrics_size()) > kMaxMetrics) {
    return absl::InvalidArgumentError(absl::StrCat("progress.metrics: at most ", kMaxMetrics, " entries"));
  }
  Touched touched;
  v1::ReportProgressResponse response;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(request.worker_id()));
    if (w->revoked.count(request.task_id())) {
      response.set_cancel(true);
      return absl::OkStatus();
    }
    NMOE_ASSIGN_OR_RETURN(v1::Job * current, HeldJob(*w, request.task_id()));
    v1::Job job = *current;
    std::vector<v1::JobEvent> events;
    // A gang's ranks all report; rank 0 speaks for the job (the others' progress
    // would interleave near-duplicates). Logs come from every rank.
    std::string job_id;
    uint32_t attempt = 0, rank = 0;
    ParseTaskId(request.task_id(), &job_id, &attempt, &rank);
    if (request.has_progress() && rank == 0) {
      *job.mutable_progress() = request.progress();
      v1::JobEvent event = NewEvent(job);
      *event.mutable_progress() = request.progress();
      events.push_back(std::move(event));
    }
    for (const auto& log : request.logs()) {
      v1::JobEvent event = NewEvent(job);
      *event.mutable_log() = log;
      event.mutable_log()->set_worker_id(w->worker.id());
      events.push_back(std::move(event));
    }
    *job.mutable_update_time() = ToProtoTime(clock_->Now());
    NMOE_RETURN_IF_ERROR(Commit(std::move(job), std::move(events), /*sync=*/false, touched));
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return response;
}

absl::Status ControlPlane::CompleteTask(const v1::CompleteTaskRequest& request) {
  Touched touched;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(request.worker_id()));
    if (w->revoked.erase(request.task_id())) return ReleaseCancelledSlot(request.task_id(), touched);
    NMOE_ASSIGN_OR_RETURN(v1::Job * current, HeldJob(*w, request.task_id()));
    std::string job_id;
    uint32_t attempt, rank;
    ParseTaskId(request.task_id(), &job_id, &attempt, &rank);
    v1::Job job = *current;
    job.add_completed_ranks(rank);
    std::vector<v1::JobEvent> events;
    if (job.completed_ranks_size() == job.worker_ids_size()) {
      for (auto& wid : *job.mutable_worker_ids()) wid.clear();
      Transition(job, v1::JOB_STATE_SUCCEEDED, "COMPLETED",
                 request.message().empty() ? "every rank completed" : request.message(), events);
    }
    NMOE_RETURN_IF_ERROR(Commit(std::move(job), std::move(events), /*sync=*/true, touched));
    w->worker.clear_task_id();
    w->worker.set_state(v1::WORKER_STATE_IDLE);
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return absl::OkStatus();
}

absl::Status ControlPlane::FailTask(const v1::FailTaskRequest& request) {
  if (!IsReasonCode(request.reason())) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: must be 1-", kMaxReasonBytes, " characters of A-Z, 0-9 and _ (e.g. OUT_OF_MEMORY)"));
  }
  Touched touched;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(request.worker_id()));
    if (w->revoked.erase(request.task_id())) return ReleaseCancelledSlot(request.task_id(), touched);
    NMOE_ASSIGN_OR_RETURN(v1::Job * current, HeldJob(*w, request.task_id()));
    const std::string job_id = current->id();
    if (request.reason() == "PEER_LOST" && request.retryable() && !request.preempted() &&
        current->worker_ids_size() > 1 &&
        (current->state() == v1::JOB_STATE_SCHEDULED || current->state() == v1::JOB_STATE_RUNNING)) {
      return DeferPeerLoss(*w, request.task_id(), absl::StrCat("worker ", Describe(w->worker), ": ", request.message()),
                           touched);
    }
    w->worker.clear_task_id();
    w->worker.set_state(v1::WORKER_STATE_IDLE);
    NMOE_RETURN_IF_ERROR(EndAttempt(job_id, request.reason(),
                                    absl::StrCat("worker ", Describe(w->worker), ": ", request.message()),
                                    request.retryable() || request.preempted(), touched, request.preempted()));
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return absl::OkStatus();
}

absl::Status ControlPlane::EndAttempt(const std::string& job_id, const std::string& reason, const std::string& message,
                                      bool retryable, Touched& touched, bool preempted) {
  peer_losses_.erase(job_id);
  v1::Job job = jobs_.at(job_id);
  // Every other slot holder must stop; the slots themselves are gone.
  for (int rank = 0; rank < job.worker_ids_size(); ++rank) {
    auto w = workers_.find(job.worker_ids(rank));
    if (w == workers_.end()) continue;
    const std::string task = TaskId(job.id(), job.attempt(), rank);
    if (w->second.worker.task_id() == task) {
      w->second.worker.clear_task_id();
      if (w->second.worker.state() == v1::WORKER_STATE_BUSY) w->second.worker.set_state(v1::WORKER_STATE_IDLE);
      w->second.revoked.insert(task);
    }
  }
  std::vector<v1::JobEvent> events;
  if (job.state() == v1::JOB_STATE_CANCELLING) {
    for (auto& wid : *job.mutable_worker_ids()) wid.clear();
    Transition(job, v1::JOB_STATE_CANCELLED, "CANCELLED", message, events);
  } else if (preempted) {
    Transition(job, v1::JOB_STATE_RETRYING, reason,
               absl::StrCat(message, "; queued again (the restart budget is not used)"), events);
    job.set_attempt(job.attempt() + 1);
    for (auto& wid : *job.mutable_worker_ids()) wid.clear();
    job.clear_completed_ranks();
  } else if (retryable && job.restarts_used() < job.max_restarts()) {
    Transition(job, v1::JOB_STATE_RETRYING, reason,
               absl::StrCat(message, "; restart ", job.restarts_used() + 1, " of ", job.max_restarts()), events);
    job.set_restarts_used(job.restarts_used() + 1);
    job.set_attempt(job.attempt() + 1);
    for (auto& wid : *job.mutable_worker_ids()) wid.clear();
    job.clear_completed_ranks();
  } else {
    for (auto& wid : *job.mutable_worker_ids()) wid.clear();
    Transition(job, v1::JOB_STATE_FAILED, reason,
               retryable ? absl::StrCat(message, "; restart budget of ", job.max_restarts(), " spent")
                         : absl::StrCat(message, " (not retryable)"),
               events);
  }
  return Commit(std::move(job), std::move(events), /*sync=*/true, touched);
}

absl::Status ControlPlane::DeregisterWorker(const std::string& worker_id) {
  Touched touched;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(worker_id));
    for (const auto& task : w->revoked) NMOE_RETURN_IF_ERROR(ReleaseCancelledSlot(task, touched));
    w->revoked.clear();
    if (!w->worker.task_id().empty()) {
      std::string job_id;
      uint32_t attempt, rank;
      ParseTaskId(w->worker.task_id(), &job_id, &attempt, &rank);
      w->worker.clear_task_id();
      NMOE_RETURN_IF_ERROR(EndAttempt(job_id, "WORKER_LEFT", absl::StrCat("worker ", Describe(w->worker), " left"),
                                      /*retryable=*/true, touched));
    }
    w->worker.set_state(v1::WORKER_STATE_LEFT);
    NMOE_RETURN_IF_ERROR(store_.PutWorker(w->worker, /*sync=*/true));
    RefreshWorkerGauges();
    return absl::OkStatus();
  }();
  NMOE_RETURN_IF_ERROR(Publish(touched, status));
  return absl::OkStatus();
}

v1::ListWorkersResponse ControlPlane::ListWorkers() {
  std::lock_guard lock(mu_);
  v1::ListWorkersResponse response;
  for (const auto& [id, w] : workers_) {
    if (w.worker.state() != v1::WORKER_STATE_LEFT) *response.add_workers() = w.worker;
  }
  return response;
}

absl::StatusOr<std::string> ControlPlane::HeldTaskJob(const std::string& worker_id, const std::string& task_id) {
  std::lock_guard lock(mu_);
  NMOE_ASSIGN_OR_RETURN(WorkerEntry * w, FindWorker(worker_id));
  NMOE_ASSIGN_OR_RETURN(v1::Job * job, HeldJob(*w, task_id));
  return job->id();
}

absl::Status ControlPlane::CheckLiveAttempt(const std::string& job_id, uint32_t attempt) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  const v1::Job& job = it->second;
  if (job.attempt() != attempt || (job.state() != v1::JOB_STATE_SCHEDULED && job.state() != v1::JOB_STATE_RUNNING)) {
    return absl::FailedPreconditionError(absl::StrCat("attempt ", attempt, " of job ", job_id,
                                                      " is not running (job is ", StateName(job.state()),
                                                      " at attempt ", job.attempt(), ")"));
  }
  return absl::OkStatus();
}

void ControlPlane::Tick() {
  Touched touched;
  const absl::Status status = [&]() -> absl::Status {
    std::lock_guard lock(mu_);
    const absl::Time now = clock_->Now();
    for (auto& [id, w] : workers_) {
      const auto state = w.worker.state();
      if (state != v1::WORKER_STATE_IDLE && state != v1::WORKER_STATE_BUSY) continue;
      if (now - w.last_seen <= options_.lease_ttl) continue;
      w.worker.set_state(v1::WORKER_STATE_LOST);
      if (metrics_) metrics_->CountWorkerLost();
      const std::string message = absl::StrCat("worker ", Describe(w.worker), " missed heartbeats for ",
                                               absl::FormatDuration(now - w.last_seen));
      for (const auto& task : w.revoked) (void)ReleaseCancelledSlot(task, touched);
      w.revoked.clear();
      if (!w.worker.task_id().empty()) {
        std::string job_id;
        uint32_t attempt, rank;
        ParseTaskId(w.worker.task_id(), &job_id, &attempt, &rank);
        w.worker.clear_task_id();
        if (auto s = EndAttempt(job_id, "WORKER_LOST", message, /*retryable=*/true, touched); !s.ok()) {
          spdlog::error("cannot end attempt of job {} after losing worker {}: {}", job_id, id, s.ToString());
        }
      }
    }
    EndOverduePeerLosses(now, touched);
    RefreshWorkerGauges();
    rendezvous_.Expire(now);
    ExpireEndedJobs(now);
    return absl::OkStatus();
  }();
  if (absl::Status s = Publish(touched, status); !s.ok()) spdlog::error("tick: {}", s.ToString());
}

}  // namespace nmoe::coordinator
