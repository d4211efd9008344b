// nmoe-worker's Prometheus metrics (served with common/metrics.h):
//   nmoe_worker_tasks_total{outcome="succeeded|failed|cancelled|preempted|dropped"}
//   nmoe_worker_current_task{job_id, task_id} 1 while a task runs
//   nmoe_worker_busy 1 while a task runs, else 0
//   nmoe_worker_heartbeat_failures_total, nmoe_worker_reconnects_total
// Tasks export their own series into the same registry (TaskContext.metrics;
// docs/training.md "Metrics" lists the training ones).
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "common/task.h"

namespace nmoe::worker {

class WorkerMetrics {
 public:
  explicit WorkerMetrics(prometheus::Registry& registry);

  // outcome: succeeded, failed, cancelled, preempted, dropped.
  void CountTask(const std::string& outcome);
  void SetCurrentTask(const std::string& job_id, const std::string& task_id);
  void ClearCurrentTask();
  void CountHeartbeatFailure() { heartbeat_failures_->Increment(); }
  void CountReconnect() { reconnects_->Increment(); }
  // The registry tasks export into.
  prometheus::Registry& registry() { return registry_; }

 private:
  prometheus::Registry& registry_;
  prometheus::Family<prometheus::Counter>& tasks_;
  prometheus::Family<prometheus::Gauge>& current_task_family_;
  prometheus::Gauge* current_task_ = nullptr;
  prometheus::Gauge* busy_;
  prometheus::Counter* heartbeat_failures_;
  prometheus::Counter* reconnects_;
};

// `task` run with ctx.metrics = `registry` (null: unchanged).
std::unique_ptr<Task> WithMetricsRegistry(std::unique_ptr<Task> task, prometheus::Registry* registry);

}  // namespace nmoe::worker
