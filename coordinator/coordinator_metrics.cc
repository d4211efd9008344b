#include "coordinator/coordinator_metrics.h"

#include "absl/strings/ascii.h"
#include "coordinator/job_states.h"

namespace nmoe::coordinator {

CoordinatorMetrics::CoordinatorMetrics(prometheus::Registry& registry) {
  auto& jobs = prometheus::BuildGauge().Name("nmoe_jobs").Help("Jobs by current state.").Register(registry);
  for (int s = v1::JOB_STATE_PENDING; s <= v1::JOB_STATE_CANCELLED; ++s) {
    jobs_[s] = &jobs.Add({{"state", absl::AsciiStrToLower(StateName(static_cast<v1::JobState>(s)))}});
  }
  auto& workers = prometheus::BuildGauge().Name("nmoe_workers").Help("Registered workers by state.").Register(registry);
  for (int s = v1::WORKER_STATE_IDLE; s <= v1::WORKER_STATE_LEFT; ++s) {
    std::string name = v1::WorkerState_Name(static_cast<v1::WorkerState>(s)).substr(std::string("WORKER_STATE_").size());
    workers_[s] = &workers.Add({{"state", absl::AsciiStrToLower(name)}});
  }
  transitions_ = &prometheus::BuildCounter()
                      .Name("nmoe_job_transitions_total")
                      .Help("Job state transitions by target state and reason.")
                      .Register(registry);
  worker_losses_ = &prometheus::BuildCounter()
                        .Name("nmoe_worker_losses_total")
                        .Help("Workers declared lost after missing heartbeats.")
                        .Register(registry)
                        .Add({});
  leases_ = &prometheus::BuildCounter()
                 .Name("nmoe_task_leases_total")
                 .Help("Tasks leased to workers.")
                 .Register(registry)
                 .Add({});
  jobs_deleted_ = &prometheus::BuildCounter()
                       .Name("nmoe_jobs_deleted_total")
                       .Help("Ended jobs deleted by the retention policy (records and event logs).")
                       .Register(registry)
                       .Add({});
}

void CoordinatorMetrics::CountJobsDeleted(size_t n) { jobs_deleted_->Increment(static_cast<double>(n)); }

void CoordinatorMetrics::SetJobs(v1::JobState state, double count) {
  if (state > 0 && static_cast<size_t>(state) < jobs_.size() && jobs_[state]) jobs_[state]->Set(count);
}

void CoordinatorMetrics::SetWorkers(v1::WorkerState state, double count) {
  if (state > 0 && static_cast<size_t>(state) < workers_.size() && workers_[state]) workers_[state]->Set(count);
}

void CoordinatorMetrics::CountTransition(v1::JobState to, const std::string& reason) {
  transitions_->Add({{"to", absl::AsciiStrToLower(StateName(to))}, {"reason", reason}}).Increment();
}

void CoordinatorMetrics::CountWorkerLost() { worker_losses_->Increment(); }
void CoordinatorMetrics::CountLease() { leases_->Increment(); }

}  // namespace nmoe::coordinator
