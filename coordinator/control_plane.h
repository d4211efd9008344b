// The coordinator's state machine: jobs, their attempts and gang slots,
// workers, leases and heartbeats. Transport-free (the gRPC services are thin
// adapters) and driven by an injectable Clock: tests advance a FakeClock and
// call Tick() instead of sleeping.
//
// A job attempt is a gang of W = max(1, resources.num_workers) task slots,
// ranks 0..W-1, task id "<job>/a<attempt>/r<rank>". Slots are leased first come
// first served (jobs in submission order). A worker holds at most one task;
// its lease lives as long as the worker heartbeats within `lease_ttl`.
// Losing any slot of an attempt (missed heartbeats, retryable FailTask) tears
// the whole gang down and queues a new attempt while restarts remain.
//
// Durability: every job state change is written to the JobStore with a synced
// log before the call returns; progress and logs unsynced. Recover() rebuilds
// everything from the store; workers that held slots get `lease_ttl` from the
// restart to heartbeat again before their slots are declared lost.
//
// Thread-safe; one mutex. Watch notifications go out after it is released.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/data_roots.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/event_hub.h"
#include "coordinator/rendezvous.h"
#include "nmoe/v1/jobs_service.pb.h"
#include "nmoe/v1/worker_service.pb.h"
#include "storage/job_store.h"

namespace nmoe::coordinator {

struct ControlPlaneOptions {
  absl::Duration heartbeat_interval = absl::Seconds(2);  // told to workers
  absl::Duration lease_ttl = absl::Seconds(10);          // silence after which a worker is lost
  uint32_t default_max_restarts = 3;                     // when a spec has none
  DataRoots data_roots;  // where spec paths may point (--data-root); empty = anywhere
  // Retention of ended jobs (control_plane_retention.cc): a job that ended is
  // deleted -- record, event log, idempotency key; a pipeline together with its
  // ended stage jobs -- once it ended more than `finished_job_ttl` ago, and the
  // earliest-ended first while more than `max_finished_jobs` ended jobs are kept
  // (a pipeline counts once) -- but never before `finished_job_min_age` (so
  // clients can still read and watch a job that just ended). Zero = no such
  // bound. Results (neuron statistics, plans, evaluations, reports) are never
  // deleted.
  absl::Duration finished_job_ttl = absl::ZeroDuration();
  size_t max_finished_jobs = 0;
  absl::Duration finished_job_min_age = absl::ZeroDuration();
};

class ControlPlane {
 public:
  // Loads every job and worker from `kv`. `metrics` may be null.
  static absl::StatusOr<std::unique_ptr<ControlPlane>> Recover(storage::KvStore* kv, const Clock* clock,
                                                              ControlPlaneOptions options,
                                                              CoordinatorMetrics* metrics);

  // ---- jobs (clients) ----
  absl::StatusOr<v1::SubmitJobResponse> SubmitJob(const v1::SubmitJobRequest& request);
  absl::StatusOr<v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::Job> CancelJob(const std::string& job_id, const std::string& reason);
  absl::StatusOr<v1::ListJobEventsResponse> ListJobEvents(const v1::ListJobEventsRequest& request);

  // ---- workers ----
  absl::StatusOr<v1::RegisterWorkerResponse> RegisterWorker(const v1::RegisterWorkerRequest& request);
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request);
  absl::StatusOr<v1::LeaseTaskResponse> LeaseTask(const v1::LeaseTaskRequest& request);
  absl::StatusOr<v1::ReportProgressResponse> ReportProgress(const v1::ReportProgressRequest& request);
  absl::Status CompleteTask(const v1::CompleteTaskRequest& request);
  absl::Status FailTask(const v1::FailTaskRequest& request);
  absl::Status DeregisterWorker(const std::string& worker_id);
  v1::ListWorkersResponse ListWorkers();
  // The id of the job whose task `task_id` the worker holds now; FAILED_PRECONDITION
  // when it holds no such lease (results writes of stale attempts are refused).
  absl::StatusOr<std::string> HeldTaskJob(const std::string& worker_id, const std::string& task_id);
  // OK when `attempt` is the job's current, live attempt (rendezvous scope check).
  absl::Status CheckLiveAttempt(const std::string& job_id, uint32_t attempt);

  // Declares silent workers lost and tears down their attempts, and deletes
  // ended jobs past the retention bounds. Call periodically.
  void Tick();
  // Ended jobs the retention bounds apply to (pipelines' stage jobs not counted).
  size_t RetainedEndedJobs();

  // ---- pipelines (PipelineDriver; pipeline jobs have no task slots) ----
  struct PipelineUpdate {
    std::vector<v1::PipelineStage> stages;
    std::optional<v1::Progress> progress;  // stored and sent as a progress event when set
    std::optional<v1::JobState> to;        // RUNNING (from PENDING via SCHEDULED), SUCCEEDED or FAILED
    std::string reason;
    std::string message;
  };
  // Pipeline jobs that have not ended, oldest first.
  std::vector<v1::Job> ActivePipelines();
  // Stores `update` on a pipeline job that has not ended; FAILED_PRECONDITION once it has.
  absl::Status UpdatePipeline(const std::string& job_id, const PipelineUpdate& update);
  // SubmitJob for a pipeline's stage: the child records `parent_job_id`.
  absl::StatusOr<v1::SubmitJobResponse> SubmitChildJob(const v1::SubmitJobRequest& request,
                                                       const std::string& parent_job_id);

  EventHub& event_hub() { return hub_; }
  // Keys of an attempt vanish when the attempt ends.
  Rendezvous& rendezvous() { return rendezvous_; }
  storage::JobStore& job_store() { return store_; }
  const ControlPlaneOptions& options() const { return options_; }

 private:
  struct WorkerEntry {
    v1::Worker worker;
    absl::Time last_seen;
    std::set<std::string> revoked;  // tasks the worker must stop; cleared when it reports them gone
  };
  // What a call changed, acted on after mu_ is released (Publish): jobs whose
  // watchers to wake, and whether the store's log must be synced first.
  struct Touched {
    std::set<std::string> jobs;
    bool needs_sync = false;
  };

  ControlPlane(storage::KvStore* kv, const Clock* clock, ControlPlaneOptions options, CoordinatorMetrics* metrics);
  absl::Status LoadFromStore();
  absl::StatusOr<v1::SubmitJobResponse> Submit(const v1::SubmitJobRequest& request, const std::string& parent_job_id);

  // All below require mu_ held.
  v1::JobEvent NewEvent(v1::Job& job) const;
  // Moves `job` (a copy of the stored job) to `to`, appending the event to `events`.
  void Transition(v1::Job& job, v1::JobState to, const std::string& reason, const std::string& message,
                  std::vector<v1::JobEvent>& events) const;
  // Writes `job` + `events` (unsynced; `sync` marks `touched` for Publish) and,
  // on success, makes it the current version in memory.
  absl::Status Commit(v1::Job job, std::vector<v1::JobEvent> events, bool sync, Touched& touched);
  // Ends the job's current attempt: revokes every slot, then queues a new
  // attempt (RETRYING) when retryable and the budget allows, else FAILED. A
  // preempted attempt (its worker left after checkpointing) always queues a
  // new attempt and leaves the budget alone.
  absl::Status EndAttempt(const std::string& job_id, const std::string& reason, const std::string& message,
                          bool retryable, Touched& touched, bool preempted = false);
  // Cancels one job (a pipeline: also its unfinished stage jobs); `result` gets its new state.
  absl::Status CancelLocked(const std::string& job_id, const std::string& message, Touched& touched,
                            v1::Job* result);
  // A gang rank reported PEER_LOST (its collective failed: a peer died). Its
  // worker is released at once, but the attempt stays up until the lost worker
  // is identified -- declared lost (WORKER_LOST naming it), or another rank
  // fails -- or for one lease_ttl, or until every rank has reported PEER_LOST;
  // then it ends with reason PEER_LOST. control_plane_gangs.cc.
  absl::Status DeferPeerLoss(WorkerEntry& worker, const std::string& task_id, const std::string& message,
                             Touched& touched);
  // Ends attempts whose PEER_LOST wait is over (Tick()).
  void EndOverduePeerLosses(absl::Time now, Touched& touched);
  // A revoked slot of a CANCELLING job was given up: CANCELLED once none is held.
  absl::Status ReleaseCancelledSlot(const std::string& task_id, Touched& touched);
  absl::StatusOr<WorkerEntry*> FindWorker(const std::string& worker_id);
  // The worker must hold exactly this task.
  absl::StatusOr<v1::Job*> HeldJob(const WorkerEntry& worker, const std::string& task_id);
  void UpdateQueue(const v1::Job& job);
  // Moves one job between per-state counts and updates the gauges: O(1).
  void CountJobState(v1::JobState from, v1::JobState to);
  // Retention (control_plane_retention.cc). TrackEnded queues a job that just
  // ended unless it is a stage of a pipeline still held (the pipeline's deletion
  // takes it along). ExpireEndedJobs deletes up to kExpireBatch jobs past the
  // bounds in one store batch, then forgets them in memory.
  void TrackEnded(const v1::Job& job);
  void ExpireEndedJobs(absl::Time now);
  // Recounts workers by state into the gauges: O(workers); called by Tick()
  // and on registration changes, not on the lease/heartbeat hot paths.
  void RefreshWorkerGauges();
  // Syncs the log when needed, then wakes watchers; returns `status` unless
  // the sync failed. Holding mu_ across an fsync would stall every RPC.
  absl::Status Publish(const Touched& touched, absl::Status status);

  storage::KvStore* kv_;
  storage::JobStore store_;
  const Clock* clock_;
  const ControlPlaneOptions options_;
  CoordinatorMetrics* metrics_;
  EventHub hub_;
  Rendezvous rendezvous_;

  std::mutex mu_;
  std::map<std::string, v1::Job> jobs_;                   // by id (creation order)
  std::map<std::string, std::string> idempotency_keys_;   // key -> job id
  std::set<std::string> queue_;                           // jobs with a free slot, FIFO by id
  std::map<std::string, WorkerEntry> workers_;
  std::array<int64_t, v1::JobState_ARRAYSIZE> jobs_by_state_{};
  std::set<std::pair<absl::Time, std::string>> ended_;  // retention queue: (end time, job id)
  struct PeerLoss {
    uint32_t attempt = 0;
    absl::Time deadline;
    std::string message;      // the first report's, naming its worker and rank
    std::set<uint32_t> ranks; // ranks that reported PEER_LOST
  };
  std::map<std::string, PeerLoss> peer_losses_;  // by job id; in memory only (a restart forgets them:
                                                 // the lost worker is then declared lost after lease_ttl)
};

// "<job>/a<attempt>/r<rank>" and back. Parse fails on any other shape.
std::string TaskId(const std::string& job_id, uint32_t attempt, uint32_t rank);
bool ParseTaskId(const std::string& task_id, std::string* job_id, uint32_t* attempt, uint32_t* rank);

}  // namespace nmoe::coordinator
