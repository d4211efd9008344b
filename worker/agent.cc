#include "worker/agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "worker/rpc_result_sink.h"

namespace nmoe::worker {
namespace {

constexpr size_t kMaxLogLinesPerReport = 100;  // the coordinator's limit
constexpr size_t kMaxLogBytes = 4000;           // under the coordinator's 4096

// Codes a task returns for bad input: rerunning the same spec cannot help.
bool IsPermanent(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

// The lease named in a call is unknown to the coordinator (restarted on
// another database, attempt torn down, worker forgotten).
bool IsLeaseGone(const absl::Status& s) { return absl::IsFailedPrecondition(s) || absl::IsNotFound(s); }

}  // namespace

Agent::Agent(AgentOptions options, const TaskRegistry* registry, WorkerMetrics* metrics)
    : options_(std::move(options)),
      registry_(registry),
      metrics_(metrics),
      client_(cli::Client::Create(options_.connection)),
      backoff_(options_.backoff) {}

Agent::~Agent() = default;

std::string Agent::worker_id() const {
  std::lock_guard lock(mu_);
  return worker_id_;
}

void Agent::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    woken_ = true;
  }
  cv_.notify_all();
}

bool Agent::ShutdownRequested() const {
  std::lock_guard lock(mu_);
  return shutdown_;
}

void Agent::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Agent::Disconnect(const absl::Status& status, const char* call) {
  if (connected_) spdlog::warn("lost the coordinator ({}: {}); retrying with backoff", call, status.ToString());
  connected_ = false;
  next_register_ = absl::Now() + backoff_.Next();
}

absl::Status Agent::Register() {
  v1::RegisterWorkerRequest request;
  *request.mutable_capabilities() = options_.capabilities;
  const std::string previous = worker_id();
  request.set_previous_worker_id(previous);
  auto response = client_->Call(client_->workers(), &v1::WorkerService::Stub::RegisterWorker, request);
  if (!response.ok()) return response.status();
  {
    std::lock_guard lock(mu_);
    worker_id_ = response->worker_id();
  }
  connected_ = true;
  backoff_.Reset();
  heartbeat_interval_ = absl::Milliseconds(std::max<uint32_t>(response->heartbeat_interval_ms(), 10));
  next_heartbeat_ = absl::Now();  // tells the coordinator at once which task still runs
  next_lease_ = absl::Now();
  if (registered_once_) {
    if (metrics_) metrics_->CountReconnect();
    spdlog::info("registered again as {}", response->worker_id());
  } else {
    spdlog::info("registered as {} with {} (heartbeat every {})", response->worker_id(),
                 options_.connection.address, absl::FormatDuration(heartbeat_interval_));
  }
  registered_once_ = true;
  if (task_ && !previous.empty() && previous != response->worker_id()) {
    LoseLease(absl::StrCat("the coordinator no longer knows worker ", previous));
  }
  return absl::OkStatus();
}

void Agent::LoseLease(const std::string& why) {
  if (!task_ || lease_lost_) return;
  spdlog::warn("task {}: lease gone ({}); stopping it and dropping its outcome", task_->task().id(), why);
  lease_lost_ = true;
  task_->RequestStop();
}

absl::Status Agent::Heartbeat() {
  v1::HeartbeatRequest request;
  request.set_worker_id(worker_id());
  if (task_ && !lease_lost_) request.add_task_ids(task_->task().id());
  auto response = client_->Call(client_->workers(), &v1::WorkerService::Stub::Heartbeat, request);
  if (!response.ok()) {
    if (metrics_) metrics_->CountHeartbeatFailure();
    return response.status();
  }
  for (const auto& id : response->revoked_task_ids()) {
    if (task_ && task_->task().id() == id && !revoked_) {
      spdlog::info("task {}: revoked by the coordinator; stopping it", id);
      revoked_ = true;
      task_->RequestStop();
    }
  }
  return absl::OkStatus();
}

absl::Status Agent::Flush() {
  if (!task_ || lease_lost_ || !task_->HasPendingReport()) return absl::OkStatus();
  RunningTask::Report report = task_->Take(kMaxLogLinesPerReport);
  v1::ReportProgressRequest request;
  request.set_worker_id(worker_id());
  request.set_task_id(task_->task().id());
  if (report.progress) *request.mutable_progress() = *report.progress;
  if (report.dropped_logs > 0) {
    v1::LogLine* line = request.add_logs();
    line->set_level(v1::LOG_LEVEL_WARNING);
    line->set_text(absl::StrCat(report.dropped_logs, " log line(s) dropped while the coordinator was unreachable"));
  }
  for (auto& line : report.logs) {
    if (request.logs_size() >= static_cast<int>(kMaxLogLinesPerReport)) break;
    if (line.text().size() > kMaxLogBytes) line.mutable_text()->resize(kMaxLogBytes);
    *request.add_logs() = std::move(line);
  }
  auto response = client_->Call(client_->workers(), &v1::WorkerService::Stub::ReportProgress, request);
  if (!response.ok()) {
    if (IsLeaseGone(response.status())) {
      LoseLease(std::string(response.status().message()));
      return absl::OkStatus();
    }
    return response.status();  // the lines are lost; progress comes again
  }
  if (response->cancel() && !revoked_) {
    spdlog::info("task {}: cancelled by the coordinator; stopping it", task_->task().id());
    revoked_ = true;
    task_->RequestStop();
  }
  return absl::OkStatus();
}

absl::Status Agent::Lease() {
  v1::LeaseTaskRequest request;
  request.set_worker_id(worker_id());
  auto response = client_->Call(client_->workers(), &v1::WorkerService::Stub::LeaseTask, request);
  if (!response.ok()) return response.status();
  if (response->has_task()) StartTask(response->task());
  return absl::OkStatus();
}

void Agent::StartTask(const v1::Task& task) {
  spdlog::info("leased task {} (job {}, attempt {}, rank {} of {})", task.id(), task.job_id(), task.attempt(),
               task.rank(), task.world_size());
  revoked_ = lease_lost_ = stopped_for_shutdown_ = false;
  outcome_.reset();
  auto fail_now = [&](const absl::Status& s) {
    // Report through the usual path: a RunningTask that returns `s` at once.
    class Failed final : public Task {
     public:
      explicit Failed(absl::Status s) : s_(std::move(s)) {}
      absl::Status Run(TaskContext&) override { return s_; }

     private:
      absl::Status s_;
    };
    task_ = std::make_unique<RunningTask>(task, std::make_unique<Failed>(s), options_.work_dir, nullptr,
                                          [this] { Wake(); });
  };
  // A task with world_size > 1 is one rank of a gang: options_.gang_task wraps it so
  // that it forms the gang's communicator (rendezvous under the job attempt's KV
  // scope) before it runs.
  if (task.world_size() > 1 && !options_.gang_task) {
    fail_now(absl::UnimplementedError(absl::StrCat("task ", task.id(), ": gangs of ", task.world_size(),
                                                   " workers are not supported by this nmoe-worker")));
    return;
  }
  if (absl::Status s = options_.data_roots.CheckSpec(task.spec(), std::filesystem::path(options_.work_dir));
      !s.ok()) {
    fail_now(s);
    return;
  }
  auto impl = registry_->Create(task.spec());
  if (!impl.ok()) {
    fail_now(impl.status());
    return;
  }
  std::unique_ptr<Task> runnable = *std::move(impl);
  if (metrics_) runnable = WithMetricsRegistry(std::move(runnable), &metrics_->registry());
  if (task.world_size() > 1) runnable = options_.gang_task(task, std::move(runnable), *client_, worker_id());
  auto results = std::make_unique<RpcResultSink>(client_.get(), [this] { return worker_id(); }, task.id());
  task_ = std::make_unique<RunningTask>(task, std::move(runnable), options_.work_dir, std::move(results),
                                        [this] { Wake(); });
  if (metrics_) metrics_->SetCurrentTask(task.job_id(), task.id());
  next_report_ = absl::Now() + options_.report_interval;
}

Agent::Outcome Agent::DecideOutcome() const {
  const absl::Status s = task_->status();
  Outcome o;
  if (s.ok()) {
    o.kind = Outcome::kComplete;
    o.metric = "succeeded";
    return o;
  }
  o.kind = Outcome::kFail;
  o.message = std::string(s.message());
  if (revoked_) {
    o.reason = "CANCELLED";
    o.metric = "cancelled";
  } else if (stopped_for_shutdown_ && absl::IsCancelled(s)) {
    o.reason = "WORKER_SHUTDOWN";
    o.message = absl::StrCat("the worker is shutting down; the task stopped: ", s.message());
    o.preempted = o.retryable = true;
    o.metric = "preempted";
  } else {
    o.reason = FailReason(s);
    if (o.reason.empty()) o.reason = absl::StatusCodeToString(s.code());
    o.retryable = !IsPermanent(s.code());
    o.metric = "failed";
  }
  return o;
}

absl::Status Agent::ReportOutcome() {
  const std::string task_id = task_->task().id();
  absl::Status s;
  if (outcome_->kind == Outcome::kComplete) {
    v1::CompleteTaskRequest request;
    request.set_worker_id(worker_id());
    request.set_task_id(task_id);
    s = client_->Call(client_->workers(), &v1::WorkerService::Stub::CompleteTask, request).status();
  } else {
    v1::FailTaskRequest request;
    request.set_worker_id(worker_id());
    request.set_task_id(task_id);
    request.set_reason(outcome_->reason);
    request.set_message(outcome_->message);
    request.set_retryable(outcome_->retryable);
    request.set_preempted(outcome_->preempted);
    s = client_->Call(client_->workers(), &v1::WorkerService::Stub::FailTask, request).status();
  }
  if (IsTransient(s)) return s;
  std::string metric = outcome_->metric;
  if (s.ok()) {
    spdlog::info("task {}: reported {}{}", task_id, outcome_->kind == Outcome::kComplete ? "completed" : "failed ",
                 outcome_->kind == Outcome::kComplete ? "" : absl::StrCat(outcome_->reason, ": ", outcome_->message));
  } else {
    spdlog::warn("task {}: the coordinator refused the outcome ({}); the lease is gone, dropping it", task_id,
                 s.ToString());
    metric = "dropped";
  }
  if (metrics_) {
    metrics_->CountTask(metric);
    metrics_->ClearCurrentTask();
  }
  task_.reset();
  outcome_.reset();
  next_lease_ = absl::Now();
  return absl::OkStatus();
}

absl::Status Agent::Run() {
  absl::Time give_up = absl::InfiniteFuture();
  while (true) {
    const bool shutdown = ShutdownRequested();
    if (shutdown && give_up == absl::InfiniteFuture()) {
      give_up = absl::Now() + options_.shutdown_grace;
      spdlog::info("shutting down: no more leases{}", task_ ? "; stopping the running task" : "");
    }
    if (shutdown && task_ && !task_->stop_requested()) {
      stopped_for_shutdown_ = true;
      task_->RequestStop();
    }
    if (!connected_ && absl::Now() >= next_register_) {
      if (absl::Status s = Register(); !s.ok()) {
        if (IsTransient(s)) {
          next_register_ = absl::Now() + backoff_.Next();
        } else {
          return absl::Status(s.code(), absl::StrCat("registration refused: ", s.message()));
        }
      }
    }
    if (connected_) {
      absl::Status s;
      if (task_ && task_->done() && !outcome_) {
        if (lease_lost_) {
          spdlog::info("task {} ended ({}); not reported: its lease is gone", task_->task().id(),
                       task_->status().ToString());
          if (metrics_) {
            metrics_->CountTask("dropped");
            metrics_->ClearCurrentTask();
          }
          task_.reset();
        } else {
          outcome_ = DecideOutcome();
        }
      }
      const absl::Time now = absl::Now();
      if (s.ok() && task_ && (now >= next_report_ || outcome_)) {
        s = Flush();
        next_report_ = now + options_.report_interval;
      }
      if (s.ok() && outcome_ && !task_->HasPendingReport()) s = ReportOutcome();
      if (s.ok() && absl::Now() >= next_heartbeat_) {
        s = Heartbeat();
        next_heartbeat_ = absl::Now() + heartbeat_interval_;
      }
      if (s.ok() && !shutdown && !task_ && absl::Now() >= next_lease_) {
        s = Lease();
        next_lease_ = absl::Now() + heartbeat_interval_;
      }
      if (!s.ok()) {
        if (IsTransient(s)) {
          Disconnect(s, "call");
        } else {
          spdlog::warn("coordinator call failed: {}", s.ToString());
          if (absl::IsNotFound(s)) Disconnect(s, "worker unknown");  // register again
        }
      }
    }
    if (shutdown && !task_) {
      if (connected_) {
        v1::DeregisterWorkerRequest request;
        request.set_worker_id(worker_id());
        auto s = client_->Call(client_->workers(), &v1::WorkerService::Stub::DeregisterWorker, request);
        if (s.ok()) {
          spdlog::info("deregistered {}; bye", worker_id());
        } else {
          spdlog::warn("deregistration failed: {}", s.status().ToString());
        }
      }
      return absl::OkStatus();
    }
    if (shutdown && absl::Now() >= give_up && (!task_ || task_->done())) {
      spdlog::warn("could not reach the coordinator within {} after the shutdown request; exiting",
                   absl::FormatDuration(options_.shutdown_grace));
      return absl::OkStatus();
    }
    // Sleep until the next deadline or a wake-up (task done, shutdown).
    absl::Time wake = absl::Now() + absl::Seconds(1);
    if (!connected_) {
      wake = std::min(wake, next_register_);
    } else {
      wake = std::min(wake, next_heartbeat_);
      if (task_) wake = std::min(wake, next_report_);
      if (!task_ && !shutdown) wake = std::min(wake, next_lease_);
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, absl::ToChronoTime(wake), [&] { return woken_; });
    woken_ = false;
  }
}

}  // namespace nmoe::worker
