// The coordinator's Prometheus series (besides per-RPC ones, see rpc_metrics.h).
#pragma once

#include <array>
#include <cstddef>
#include <memory>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/worker_service.pb.h"

namespace nmoe::coordinator {

class CoordinatorMetrics {
 public:
  explicit CoordinatorMetrics(prometheus::Registry& registry);

  // nmoe_jobs{state}: jobs currently in each state.
  void SetJobs(v1::JobState state, double count);
  // nmoe_workers{state}: registered workers in each state.
  void SetWorkers(v1::WorkerState state, double count);
  // nmoe_job_transitions_total{to, reason}.
  void CountTransition(v1::JobState to, const std::string& reason);
  // nmoe_worker_losses_total: workers declared lost for missed heartbeats.
  void CountWorkerLost();
  // nmoe_task_leases_total.
  void CountLease();
  // nmoe_jobs_deleted_total: ended jobs deleted by retention (stage jobs included).
  void CountJobsDeleted(size_t n);

 private:
  std::array<prometheus::Gauge*, 9> jobs_{};
  std::array<prometheus::Gauge*, 5> workers_{};
  prometheus::Family<prometheus::Counter>* transitions_;
  prometheus::Counter* worker_losses_;
  prometheus::Counter* leases_;
  prometheus::Counter* jobs_deleted_;
};

}  // namespace nmoe::coordinator
