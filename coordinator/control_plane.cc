// ControlPlane: construction, recovery, and the helpers shared by the job
// and worker halves (control_plane_jobs.cc, control_plane_workers.cc).
#include "coordinator/control_plane.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/job_states.h"

namespace nmoe::coordinator {

std::string TaskId(const std::string& job_id, uint32_t attempt, uint32_t rank) {
  return absl::StrCat(job_id, "/a", attempt, "/r", rank);
}

bool ParseTaskId(const std::string& task_id, std::string* job_id, uint32_t* attempt, uint32_t* rank) {
  std::vector<std::string> parts = absl::StrSplit(task_id, '/');
  if (parts.size() != 3 || parts[0].empty() || parts[1].size() < 2 || parts[2].size() < 2) return false;
  if (parts[1][0] != 'a' || parts[2][0] != 'r') return false;
  if (!absl::SimpleAtoi(parts[1].substr(1), attempt) || !absl::SimpleAtoi(parts[2].substr(1), rank)) return false;
  *job_id = parts[0];
  return true;
}

ControlPlane::ControlPlane(storage::KvStore* kv, const Clock* clock, ControlPlaneOptions options,
                           CoordinatorMetrics* metrics)
    : kv_(kv), store_(kv), clock_(clock), options_(options), metrics_(metrics) {}

absl::StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Recover(storage::KvStore* kv, const Clock* clock,
                                                                    ControlPlaneOptions options,
                                                                    CoordinatorMetrics* metrics) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane(kv, clock, options, metrics));
  NMOE_RETURN_IF_ERROR(cp->LoadFromStore());
  return cp;
}

absl::Status ControlPlane::LoadFromStore() {
  std::lock_guard lock(mu_);
  const absl::Time now = clock_->Now();
  NMOE_RETURN_IF_ERROR(store_.ForEachWorker([&](v1::Worker worker) {
    if (worker.state() == v1::WORKER_STATE_LEFT) return absl::OkStatus();
    WorkerEntry entry;
    // Grace: a worker known before the restart has one lease_ttl to heartbeat.
    entry.last_seen = now;
    entry.worker = std::move(worker);
    workers_.emplace(entry.worker.id(), std::move(entry));
    return absl::OkStatus();
  }));
  NMOE_RETURN_IF_ERROR(store_.ForEachJob([&](v1::Job job) {
    if (!job.idempotency_key().empty()) idempotency_keys_[job.idempotency_key()] = job.id();
    if (!IsTerminal(job.state())) {
      // Slot holders must still know the task; anything else is stale.
      for (int rank = 0; rank < job.worker_ids_size(); ++rank) {
        const std::string& wid = job.worker_ids(rank);
        if (wid.empty()) continue;
        auto w = workers_.find(wid);
        const std::string task = TaskId(job.id(), job.attempt(), rank);
        if (w == workers_.end()) {
          // A holder without a stored record: track it so Tick() can declare it lost.
          WorkerEntry entry;
          entry.last_seen = now;
          entry.worker.set_id(wid);
          entry.worker.set_state(v1::WORKER_STATE_BUSY);
          w = workers_.emplace(wid, std::move(entry)).first;
        }
        if (job.state() == v1::JOB_STATE_CANCELLING) {
          w->second.revoked.insert(task);
        } else {
          w->second.worker.set_task_id(task);
        }
      }
    }
    jobs_.emplace(job.id(), std::move(job));
    return absl::OkStatus();
  }));
  for (auto& [id, job] : jobs_) {
    UpdateQueue(job);
    CountJobState(v1::JOB_STATE_UNSPECIFIED, job.state());
    TrackEnded(job);
  }
  RefreshWorkerGauges();
  return absl::OkStatus();
}

v1::JobEvent ControlPlane::NewEvent(v1::Job& job) const {
  v1::JobEvent event;
  event.set_job_id(job.id());
  event.set_seq(job.last_event_seq() + 1);
  *event.mutable_time() = ToProtoTime(clock_->Now());
  job.set_last_event_seq(event.seq());
  return event;
}

void ControlPlane::Transition(v1::Job& job, v1::JobState to, const std::string& reason, const std::string& message,
                              std::vector<v1::JobEvent>& events) const {
  const auto now = ToProtoTime(clock_->Now());
  v1::StateTransition t;
  t.set_from(job.state());
  t.set_to(to);
  t.set_reason(reason);
  t.set_message(message);
  *t.mutable_time() = now;
  t.set_attempt(job.attempt());
  job.set_state(to);
  *job.mutable_update_time() = now;
  *job.mutable_last_transition() = t;
  if (to == v1::JOB_STATE_RUNNING && !job.has_start_time()) *job.mutable_start_time() = now;
  if (IsTerminal(to)) *job.mutable_end_time() = now;
  v1::JobEvent event = NewEvent(job);
  *event.mutable_state_change() = std::move(t);
  events.push_back(std::move(event));
  if (metrics_) metrics_->CountTransition(to, reason);
}

absl::Status ControlPlane::Commit(v1::Job job, std::vector<v1::JobEvent> events, bool sync, Touched& touched) {
  NMOE_RETURN_IF_ERROR(store_.UpdateJob(job, events, /*sync=*/false));
  if (sync) touched.needs_sync = true;
  const std::string id = job.id();
  const v1::JobState old_state = jobs_[id].state();
  if (IsTerminal(job.state())) {
    rendezvous_.DropJob(id, 0);
  } else if (jobs_[id].attempt() != job.attempt()) {
    rendezvous_.DropJob(id, job.attempt());
  }
  jobs_[id] = std::move(job);
  UpdateQueue(jobs_[id]);
  if (old_state != jobs_[id].state()) CountJobState(old_state, jobs_[id].state());
  if (!IsTerminal(old_state)) TrackEnded(jobs_[id]);
  if (!events.empty()) touched.jobs.insert(id);
  return absl::OkStatus();
}

void ControlPlane::UpdateQueue(const v1::Job& job) {
  bool has_free_slot = false;
  if (job.state() == v1::JOB_STATE_PENDING || job.state() == v1::JOB_STATE_RETRYING ||
      job.state() == v1::JOB_STATE_SCHEDULED) {
    for (const auto& w : job.worker_ids()) has_free_slot = has_free_slot || w.empty();
  }
  if (has_free_slot) {
    queue_.insert(job.id());
  } else {
    queue_.erase(job.id());
  }
}

void ControlPlane::CountJobState(v1::JobState from, v1::JobState to) {
  if (from != v1::JOB_STATE_UNSPECIFIED) --jobs_by_state_[from];
  if (to != v1::JOB_STATE_UNSPECIFIED) ++jobs_by_state_[to];
  if (!metrics_) return;
  if (from != v1::JOB_STATE_UNSPECIFIED) metrics_->SetJobs(from, static_cast<double>(jobs_by_state_[from]));
  if (to != v1::JOB_STATE_UNSPECIFIED) metrics_->SetJobs(to, static_cast<double>(jobs_by_state_[to]));
}

void ControlPlane::RefreshWorkerGauges() {
  if (!metrics_) return;
  std::map<int, int> counts;
  for (const auto& [id, w] : workers_) ++counts[w.worker.state()];
  for (int s = v1::WORKER_STATE_IDLE; s <= v1::WORKER_STATE_LEFT; ++s) {
    metrics_->SetWorkers(static_cast<v1::WorkerState>(s), counts[s]);
  }
}

absl::Status ControlPlane::Publish(const Touched& touched, absl::Status status) {
  if (touched.needs_sync) {
    // Concurrent callers share one fsync where RocksDB can group them.
    NMOE_RETURN_IF_ERROR(kv_->Sync());
  }
  for (const auto& id : touched.jobs) hub_.Notify(id);
  return status;
}

}  // namespace nmoe::coordinator
