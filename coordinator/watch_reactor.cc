#include "coordinator/watch_reactor.h"

#include <spdlog/spdlog.h>

#include "common/grpc_status.h"
#include "coordinator/job_states.h"

namespace nmoe::coordinator {
namespace {
constexpr size_t kReadBatch = 256;
}

WatchReactor* WatchReactor::Start(EventHub* hub, storage::JobStore* store, const v1::WatchJobRequest& request,
                                  bool terminal_seen, const std::atomic<bool>* shutting_down,
                                  std::unique_ptr<Admission::Ticket> ticket) {
  auto* reactor = new WatchReactor(hub, store, request, shutting_down);
  reactor->ticket_ = std::move(ticket);
  reactor->saw_terminal_ = terminal_seen;
  // Subscribe before the first read so no event falls between the two.
  reactor->subscription_ = hub->Subscribe(reactor->job_id_, [reactor] {
    std::lock_guard lock(reactor->mu_);
    reactor->PumpLocked();
  });
  std::lock_guard lock(reactor->mu_);
  reactor->PumpLocked();
  return reactor;
}

WatchReactor::WatchReactor(EventHub* hub, storage::JobStore* store, const v1::WatchJobRequest& request,
                           const std::atomic<bool>* shutting_down)
    : hub_(hub),
      store_(store),
      job_id_(request.job_id()),
      include_progress_(request.include_progress()),
      shutting_down_(shutting_down),
      next_seq_(std::max<uint64_t>(1, request.from_seq())) {}

void WatchReactor::PumpLocked() {
  if (finished_ || writing_) return;
  if (pending_.empty()) {
    auto events = store_->ListEvents(job_id_, next_seq_, kReadBatch);
    if (!events.ok()) {
      FinishLocked(ToGrpcStatus(events.status()));
      return;
    }
    for (auto& event : *events) {
      next_seq_ = event.seq() + 1;
      if (event.has_progress() && !include_progress_) continue;
      pending_.push_back(std::move(event));
    }
  }
  if (!pending_.empty()) {
    writing_ = true;
    StartWrite(&pending_.front());
    return;
  }
  if (saw_terminal_) {
    FinishLocked(grpc::Status::OK);
  } else if (shutting_down_->load()) {
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator is shutting down; resume the watch"));
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  writing_ = false;
  if (!ok) {
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
    return;
  }
  const v1::JobEvent& sent = pending_.front();
  if (sent.has_state_change() && IsTerminal(sent.state_change().to())) saw_terminal_ = true;
  pending_.pop_front();
  if (saw_terminal_ && pending_.empty()) {
    FinishLocked(grpc::Status::OK);
    return;
  }
  PumpLocked();
}

void WatchReactor::OnCancel() {
  std::lock_guard lock(mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void WatchReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  Finish(status);
}

void WatchReactor::OnDone() {
  hub_->Unsubscribe(subscription_);  // after this no callback can run
  delete this;
}

}  // namespace nmoe::coordinator
