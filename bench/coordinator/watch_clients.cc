#include "bench/coordinator/watch_clients.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace nmoe::bench {
namespace {

// The server's retry-after-ms hint of a finished call; 200 ms without one.
int64_t RetryHintMs(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("retry-after-ms");
  return it == trailers.end() ? 200 : std::atoll(std::string(it->second.data(), it->second.size()).c_str());
}

}  // namespace

WatchLoad::WatchLoad(WatchLoadConfig config, ChannelPool* pool) : config_(std::move(config)), pool_(pool) {
  for (int i = 0; i < config_.clients; ++i) slots_.push_back(std::make_unique<Slot>());
}

WatchLoad::~WatchLoad() { Stop(); }

void WatchLoad::Fail(const std::string& what, const grpc::Status& status) {
  stats_.failures.fetch_add(1);
  std::lock_guard lock(stats_.mu);
  if (stats_.failure_samples.size() < 10) {
    stats_.failure_samples.push_back(absl::StrCat(what, ": ", GrpcCodeName(status.error_code()), " ",
                                                  status.error_message()));
  }
}

bool WatchLoad::Prepare() {
  for (int w = 0; w < config_.workers; ++w) {
    grpc::ClientContext context;
    pool_->Prepare(context, config_.deadline);
    v1::RegisterWorkerRequest request;
    request.mutable_capabilities()->set_device(v1::DEVICE_KIND_CPU);
    request.mutable_capabilities()->set_hostname(absl::StrCat("bench-load-", w));
    v1::RegisterWorkerResponse response;
    const grpc::Status status = pool_->workers(w).RegisterWorker(&context, request, &response);
    if (!status.ok()) {
      Fail("RegisterWorker", status);
      return false;
    }
    worker_ids_.push_back(response.worker_id());
  }
  return true;
}

void WatchLoad::Start() {
  for (int w = 0; w < config_.workers; ++w) threads_.emplace_back([this, w] { WorkerLoop(w); });
  for (int c = 0; c < config_.clients; ++c) threads_.emplace_back([this, c] { ClientLoop(c); });
}

void WatchLoad::Stop() {
  stop_.store(true);
  for (auto& slot : slots_) {
    std::lock_guard lock(slot->mu);
    if (slot->context) slot->context->TryCancel();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool WatchLoad::Enter(Slot& slot, grpc::ClientContext* context) {
  std::lock_guard lock(slot.mu);
  if (stop_.load()) return false;
  slot.context = context;
  return true;
}

void WatchLoad::Leave(Slot& slot) {
  std::lock_guard lock(slot.mu);
  slot.context = nullptr;
}

bool WatchLoad::Backoff(int64_t ms, uint64_t salt) {
  // Up to +50% jitter so refused clients do not come back in lockstep.
  const absl::Time until = absl::Now() + absl::Milliseconds(ms + static_cast<int64_t>((salt * 2654435761u) % (ms / 2 + 1)));
  while (absl::Now() < until) {
    if (stop_.load()) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return !stop_.load();
}

void WatchLoad::ClientLoop(int client) {
  Slot& slot = *slots_[client];
  const size_t channel = static_cast<size_t>(client);
  uint64_t attempt = 0;
  for (uint64_t k = 0; !stop_.load(); ++k) {
    // Submit; the idempotency key makes a retry after a refusal safe.
    v1::SubmitJobRequest request;
    *request.mutable_spec() = BenchSpec(absl::StrCat("load-c", client, "-", k));
    request.set_idempotency_key(absl::StrCat("load-c", client, "-", k));
    v1::SubmitJobResponse response;
    grpc::Status status;
    for (;;) {
      grpc::ClientContext context;
      pool_->Prepare(context, config_.deadline);
      if (!Enter(slot, &context)) return;
      const absl::Time start = absl::Now();
      status = pool_->jobs(channel).SubmitJob(&context, request, &response);
      Leave(slot);
      if (stop_.load() && status.error_code() == grpc::StatusCode::CANCELLED) return;
      stats_.submit.Record(status, absl::Now() - start);
      if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
      stats_.submit_refused.fetch_add(1);
      if (!Backoff(RetryHintMs(context), ++attempt + client)) return;
    }
    if (!status.ok()) {
      Fail("SubmitJob", status);
      if (!Backoff(200, ++attempt + client)) return;
      continue;
    }
    // Watch to the end, resuming after refusals from the next unseen event.
    uint64_t from_seq = 0;
    bool first = true;
    for (;;) {
      grpc::ClientContext context;
      pool_->Prepare(context, config_.watch_deadline);
      v1::WatchJobRequest watch;
      watch.set_job_id(response.job().id());
      watch.set_from_seq(from_seq);
      if (!Enter(slot, &context)) return;
      stats_.watch_attempts.fetch_add(1);
      const absl::Time start = absl::Now();
      auto reader = pool_->jobs(channel).WatchJob(&context, watch);
      v1::JobEvent event;
      bool counted_open = false;
      while (reader->Read(&event)) {
        if (!counted_open) {
          counted_open = true;
          const int64_t open = stats_.open_watches.fetch_add(1) + 1;
          int64_t peak = stats_.peak_open_watches.load();
          while (open > peak && !stats_.peak_open_watches.compare_exchange_weak(peak, open)) {
          }
        }
        if (first) {
          stats_.first_event.Record(absl::Now() - start);
          first = false;
        }
        stats_.events.fetch_add(1);
        from_seq = event.seq() + 1;
      }
      status = reader->Finish();
      if (counted_open) stats_.open_watches.fetch_sub(1);
      Leave(slot);
      if (status.ok()) {
        stats_.jobs_watched.fetch_add(1);
        break;
      }
      if (stop_.load() && status.error_code() == grpc::StatusCode::CANCELLED) return;
      if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        stats_.watch_refused.fetch_add(1);
        if (!Backoff(RetryHintMs(context), ++attempt + client)) return;
        continue;
      }
      Fail("WatchJob", status);
      break;
    }
  }
}

void WatchLoad::WorkerLoop(int worker) {
  const std::string& id = worker_ids_[worker];
  while (!stop_.load()) {
    grpc::ClientContext context;
    pool_->Prepare(context, config_.deadline);
    v1::LeaseTaskRequest lease;
    lease.set_worker_id(id);
    v1::LeaseTaskResponse leased;
    grpc::Status status = pool_->workers(worker).LeaseTask(&context, lease, &leased);
    if (!status.ok()) {
      if (!stop_.load()) Fail("LeaseTask", status);
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    if (!leased.has_task()) {
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    stats_.leases.fetch_add(1);
    grpc::ClientContext complete_context;
    pool_->Prepare(complete_context, config_.deadline);
    v1::CompleteTaskRequest complete;
    complete.set_worker_id(id);
    complete.set_task_id(leased.task().id());
    v1::CompleteTaskResponse completed;
    status = pool_->workers(worker).CompleteTask(&complete_context, complete, &completed);
    if (status.ok()) {
      stats_.completions.fetch_add(1);
    } else if (!stop_.load()) {
      Fail("CompleteTask", status);
    }
  }
}

}  // namespace nmoe::bench
