// Load: the simulated workers' side (heartbeats, leases, completions).
#include "bench/coordinator/load.h"

namespace nmoe::bench {

void Load::HeartbeatLoop(int thread) {
  std::vector<size_t> mine;
  for (size_t i = thread; i < workers_.size(); i += config_.heartbeat_threads) mine.push_back(i);
  if (mine.empty() || config_.heartbeat_rate <= 0) return;
  const absl::Duration spacing = absl::Seconds(config_.heartbeat_threads / config_.heartbeat_rate);
  absl::Time next = absl::Now() + spacing * thread / config_.heartbeat_threads;
  for (size_t k = 0; !stop_.load(std::memory_order_relaxed); ++k) {
    absl::Time now = absl::Now();
    while (next > now) {
      absl::SleepFor(std::min(next - now, absl::Milliseconds(10)));
      if (stop_.load(std::memory_order_relaxed)) return;
      now = absl::Now();
    }
    if (now - next > absl::Milliseconds(100)) {  // fell behind: drop the backlog instead of bursting
      absl::Duration rest;
      const int64_t missed = absl::IDivDuration(now - next, spacing, &rest);
      if (measuring()) stats_.heartbeat_dropped.fetch_add(missed, std::memory_order_relaxed);
      next += spacing * missed;
    }
    next += spacing;
    const size_t index = mine[k % mine.size()];
    SimWorker& worker = *workers_[index];
    if (worker.heartbeat_in_flight.exchange(true)) {
      if (measuring()) stats_.heartbeat_skipped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    SendHeartbeat(worker, index);
  }
}

void Load::SendHeartbeat(SimWorker& worker, size_t channel) {
  struct Call {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    v1::HeartbeatResponse response;
    absl::Time start;
    bool measured;
  };
  auto* call = new Call;
  pool_->Prepare(call->context, config_.deadline);
  call->request.set_worker_id(worker.id);
  {
    std::lock_guard lock(worker.mu);
    if (!worker.task_id.empty()) call->request.add_task_ids(worker.task_id);
  }
  in_flight_.fetch_add(1);
  call->measured = measuring();
  call->start = absl::Now();
  pool_->workers(channel).async()->Heartbeat(
      &call->context, &call->request, &call->response, [this, call, &worker](grpc::Status status) {
        if (call->measured) {
          stats_.heartbeat.Record(status, absl::Now() - call->start);
          stats_.revoked.fetch_add(call->response.revoked_task_ids_size(), std::memory_order_relaxed);
        }
        worker.heartbeat_in_flight.store(false);
        delete call;
        in_flight_.fetch_sub(1);
      });
}

void Load::LesseeLoop(int thread) {
  std::vector<size_t> mine;
  const size_t lessees = std::min<size_t>(config_.lessees, workers_.size());
  for (size_t i = thread; i < lessees; i += config_.lessee_threads) mine.push_back(i);
  while (!stop_.load()) {
    bool worked = false;
    for (size_t index : mine) {
      if (stop_.load()) return;
      SimWorker& w = *workers_[index];
      std::string task;
      absl::Time leased_at;
      {
        std::lock_guard lock(w.mu);
        task = w.task_id;
        leased_at = w.leased_at;
      }
      if (task.empty()) {
        grpc::ClientContext context;
        pool_->Prepare(context, config_.deadline);
        v1::LeaseTaskRequest request;
        request.set_worker_id(w.id);
        v1::LeaseTaskResponse response;
        const bool measured = measuring();
        const absl::Time start = absl::Now();
        const grpc::Status status = pool_->workers(index).LeaseTask(&context, request, &response);
        const absl::Duration latency = absl::Now() - start;
        const bool hit = status.ok() && response.has_task();
        if (measured) stats_.lease.Record(status, latency);
        if (measured && hit) stats_.lease_hit.Record(status, latency);
        if (hit) {
          std::lock_guard lock(w.mu);
          w.task_id = response.task().id();
          w.leased_at = absl::Now();
          worked = true;
        }
        continue;
      }
      if (absl::Now() - leased_at < config_.task_hold) continue;
      worked = true;
      {
        grpc::ClientContext context;
        pool_->Prepare(context, config_.deadline);
        v1::ReportProgressRequest request;
        request.set_worker_id(w.id);
        request.set_task_id(task);
        request.mutable_progress()->set_stage("profile");
        request.mutable_progress()->set_done(1);
        request.mutable_progress()->set_total(1);
        v1::ReportProgressResponse response;
        const bool measured = measuring();
        const absl::Time start = absl::Now();
        const grpc::Status status = pool_->workers(index).ReportProgress(&context, request, &response);
        if (measured) stats_.report_progress.Record(status, absl::Now() - start);
      }
      grpc::ClientContext context;
      pool_->Prepare(context, config_.deadline);
      v1::CompleteTaskRequest request;
      request.set_worker_id(w.id);
      request.set_task_id(task);
      v1::CompleteTaskResponse response;
      const bool measured = measuring();
      const absl::Time start = absl::Now();
      const grpc::Status status = pool_->workers(index).CompleteTask(&context, request, &response);
      if (measured) stats_.complete.Record(status, absl::Now() - start);
      std::lock_guard lock(w.mu);
      w.task_id.clear();  // done, or refused: either way the worker no longer holds it
    }
    if (!worked) Sleep(config_.lease_poll);
  }
}

}  // namespace nmoe::bench
