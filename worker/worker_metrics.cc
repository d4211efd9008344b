#include "worker/worker_metrics.h"

namespace nmoe::worker {

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry)
    : registry_(registry),
      tasks_(prometheus::BuildCounter()
                 .Name("nmoe_worker_tasks_total")
                 .Help("Tasks this worker finished, by outcome")
                 .Register(registry)),
      current_task_family_(prometheus::BuildGauge()
                               .Name("nmoe_worker_current_task")
                               .Help("1 for the task this worker runs now")
                               .Register(registry)),
      busy_(&prometheus::BuildGauge()
                 .Name("nmoe_worker_busy")
                 .Help("1 while a task runs")
                 .Register(registry)
                 .Add({})),
      heartbeat_failures_(&prometheus::BuildCounter()
                               .Name("nmoe_worker_heartbeat_failures_total")
                               .Help("Heartbeats that did not reach the coordinator")
                               .Register(registry)
                               .Add({})),
      reconnects_(&prometheus::BuildCounter()
                       .Name("nmoe_worker_reconnects_total")
                       .Help("Registrations again after losing the coordinator")
                       .Register(registry)
                       .Add({})) {
  for (const char* outcome : {"succeeded", "failed", "cancelled", "preempted", "dropped"}) {
    tasks_.Add({{"outcome", outcome}});
  }
}

void WorkerMetrics::CountTask(const std::string& outcome) { tasks_.Add({{"outcome", outcome}}).Increment(); }

void WorkerMetrics::SetCurrentTask(const std::string& job_id, const std::string& task_id) {
  ClearCurrentTask();
  current_task_ = &current_task_family_.Add({{"job_id", job_id}, {"task_id", task_id}});
  current_task_->Set(1);
  busy_->Set(1);
}

void WorkerMetrics::ClearCurrentTask() {
  if (current_task_ != nullptr) current_task_family_.Remove(current_task_);
  current_task_ = nullptr;
  busy_->Set(0);
}

namespace {

class MetricsTask final : public Task {
 public:
  MetricsTask(std::unique_ptr<Task> inner, prometheus::Registry* registry)
      : inner_(std::move(inner)), registry_(registry) {}
  absl::Status Run(TaskContext& ctx) override {
    ctx.metrics = registry_;
    return inner_->Run(ctx);
  }

 private:
  std::unique_ptr<Task> inner_;
  prometheus::Registry* registry_;
};

}  // namespace

std::unique_ptr<Task> WithMetricsRegistry(std::unique_ptr<Task> task, prometheus::Registry* registry) {
  if (registry == nullptr) return task;
  return std::make_unique<MetricsTask>(std::move(task), registry);
}

}  // namespace nmoe::worker
