// Server stream of one job's events for WatchJob.
//
// Sends stored events from `from_seq` on, then new ones as the EventHub
// announces them, one write in flight at a time, reading at most 256 events
// ahead from the store (so a slow watcher costs bounded memory: the rest wait
// in RocksDB, and gRPC flow control holds the writer); finishes OK right after the
// event that puts the job in a terminal state, CANCELLED when the client goes
// away, UNAVAILABLE when the server shuts down (clients resume from the next seq).
#pragma once

#include <atomic>
#include <deque>
#include <mutex>

#include <grpcpp/support/server_callback.h>

#include "coordinator/admission.h"
#include "coordinator/event_hub.h"
#include "nmoe/v1/jobs_service.pb.h"
#include "storage/job_store.h"

namespace nmoe::coordinator {

class WatchReactor final : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  // Starts the stream; the reactor deletes itself when the call is done.
  // `terminal_seen`: the job is over and from_seq is past its last event.
  // `ticket` (the stream's admission) is released when the call is done.
  static WatchReactor* Start(EventHub* hub, storage::JobStore* store, const v1::WatchJobRequest& request,
                             bool terminal_seen, const std::atomic<bool>* shutting_down,
                             std::unique_ptr<Admission::Ticket> ticket);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  WatchReactor(EventHub* hub, storage::JobStore* store, const v1::WatchJobRequest& request,
               const std::atomic<bool>* shutting_down);
  // Starts the next write, or finishes, if nothing is in flight. mu_ held.
  void PumpLocked();
  void FinishLocked(const grpc::Status& status);

  EventHub* hub_;
  storage::JobStore* store_;
  const std::string job_id_;
  const bool include_progress_;
  const std::atomic<bool>* shutting_down_;
  uint64_t subscription_ = 0;
  std::unique_ptr<Admission::Ticket> ticket_;

  std::mutex mu_;
  uint64_t next_seq_;
  std::deque<v1::JobEvent> pending_;
  bool writing_ = false;
  bool finished_ = false;
  bool saw_terminal_ = false;
};

}  // namespace nmoe::coordinator
