// The nmoe-worker agent: registers with the coordinator, heartbeats at the
// interval it returns, leases one task at a time, runs it in a task thread
// (RunningTask) with an RPC-backed ResultSink, forwards its progress and logs
// (ReportProgress, at most every `report_interval`, logs batched), and
// completes or fails it.
//
// Failure handling:
// - A call that finds the coordinator unreachable marks it lost; the task keeps
//   running, and registration is retried with exponential backoff (capped,
//   jittered) under the old worker id. Then the outcome is reported; when the
//   coordinator says the lease is gone the outcome is dropped with a log line.
// - Revoked tasks (HeartbeatResponse.revoked_task_ids, ReportProgress cancel)
//   get their stop flag set, and are given up with FailTask once they return.
// - Shutdown() (SIGTERM/SIGINT): no more leases, the running task is stopped
//   (it checkpoints and returns CANCELLED) and handed back with FailTask
//   {reason WORKER_SHUTDOWN, preempted}: the job queues again without using
//   its restart budget. Then Deregister, and Run() returns.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cli/client.h"
#include "common/data_roots.h"
#include "worker/backoff.h"
#include "worker/running_task.h"
#include "worker/task_registry.h"
#include "worker/worker_metrics.h"

namespace nmoe::worker {

struct AgentOptions {
  cli::ConnectionOptions connection;              // address, token, TLS, per-call deadline
  std::string work_dir = ".";                     // relative spec paths resolve here
  // Where spec paths may point (--data-root plus work_dir); empty = anywhere. A
  // task naming a path outside fails INVALID_ARGUMENT before it runs.
  DataRoots data_roots;
  v1::WorkerCapabilities capabilities;            // sent at every registration
  absl::Duration report_interval = absl::Milliseconds(500);  // progress/log flushes while a task runs
  BackoffOptions backoff;                         // reconnects
  // After Shutdown(), how long to keep trying to reach a lost coordinator to
  // hand the task back before exiting anyway.
  absl::Duration shutdown_grace = absl::Seconds(30);
  // Wraps the task of one rank of a gang (task.world_size > 1) so that it forms the
  // gang's communicator before running `inner` (worker/gang_task.h). Null: such
  // tasks fail UNIMPLEMENTED.
  std::function<std::unique_ptr<Task>(const v1::Task& task, std::unique_ptr<Task> inner,
                                      const cli::Client& client, const std::string& worker_id)>
      gang_task;
};

class Agent {
 public:
  // `registry` and `metrics` (may be null) must outlive the agent.
  Agent(AgentOptions options, const TaskRegistry* registry, WorkerMetrics* metrics);
  ~Agent();

  // Runs until Shutdown() has been handled; OK after a clean exit (also when
  // the coordinator could not be reached within shutdown_grace).
  absl::Status Run();
  // Thread-safe; call from a signal-waiting thread, not a signal handler.
  void Shutdown();

  std::string worker_id() const;

 private:
  // How a finished task is reported.
  struct Outcome {
    enum Kind { kComplete, kFail } kind = kComplete;
    std::string reason, message, metric;
    bool retryable = false, preempted = false;
  };

  bool ShutdownRequested() const;
  void Wake();
  // Each returns the status of its RPC; a transient one marks the coordinator lost.
  absl::Status Register();
  absl::Status Heartbeat();
  absl::Status Flush();  // buffered progress and logs of the running task
  absl::Status Lease();
  absl::Status ReportOutcome();
  void Disconnect(const absl::Status& status, const char* call);
  // Starts `task` (or reports why it cannot run).
  void StartTask(const v1::Task& task);
  Outcome DecideOutcome() const;
  // The task's lease is gone (revoked or forgotten): stop it and drop its outcome.
  void LoseLease(const std::string& why);

  AgentOptions options_;
  const TaskRegistry* registry_;
  WorkerMetrics* metrics_;
  std::unique_ptr<cli::Client> client_;
  Backoff backoff_;

  mutable std::mutex mu_;  // guards shutdown_, woken_ and worker_id_
  std::condition_variable cv_;
  bool shutdown_ = false;
  bool woken_ = false;
  std::string worker_id_;

  // Control-loop state (Run()'s thread only).
  bool connected_ = false;
  bool registered_once_ = false;
  absl::Duration heartbeat_interval_ = absl::Seconds(2);
  absl::Time next_register_ = absl::InfinitePast();
  absl::Time next_heartbeat_ = absl::InfinitePast();
  absl::Time next_report_ = absl::InfinitePast();
  absl::Time next_lease_ = absl::InfinitePast();
  std::unique_ptr<RunningTask> task_;
  bool revoked_ = false;        // the coordinator told us to stop the task
  bool lease_lost_ = false;     // nothing to report: drop the outcome
  bool stopped_for_shutdown_ = false;
  std::optional<Outcome> outcome_;  // the finished task's report, not yet acknowledged
};

}  // namespace nmoe::worker
