// RendezvousStore over the coordinator's job-attempt scoped key-value RPCs
// (WorkerService KvSet/KvGet/KvWait/KvAdd). The scope is (job id, attempt):
// the coordinator accepts it only while that attempt is scheduled or running
// and drops its keys when the attempt ends, so a restarted gang never sees a
// stale address (FAILED_PRECONDITION / ABORTED come back as such).
//
// Waits longer than `max_wait_call` loop over bounded KvWait calls, so no RPC
// outlives the coordinator's per-call limit and a restarted coordinator is
// picked up; UNAVAILABLE is retried with backoff until the caller's timeout
// (for Set and Wait, which are idempotent; never for Add).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "comm/rendezvous_store.h"
#include "nmoe/v1/worker_service.grpc.pb.h"

namespace nmoe::comm {

struct CoordinatorStoreOptions {
  std::string token;      // bearer token; empty = none
  std::string worker_id;  // for error messages
  std::string job_id;
  uint32_t attempt = 0;
  absl::Duration rpc_timeout = absl::Seconds(10);    // Set / Add / Get calls
  absl::Duration max_wait_call = absl::Seconds(30);  // one KvWait call
  absl::Duration retry_timeout = absl::Seconds(30);  // how long Set keeps retrying UNAVAILABLE
};

class CoordinatorRendezvousStore : public RendezvousStore {
 public:
  CoordinatorRendezvousStore(std::shared_ptr<grpc::Channel> channel, CoordinatorStoreOptions options);

  absl::Status Set(const std::string& key, const std::string& value) override;
  absl::StatusOr<std::vector<std::string>> Wait(const std::vector<std::string>& keys,
                                                absl::Duration timeout) override;
  absl::StatusOr<int64_t> Add(const std::string& key, int64_t delta) override;

 private:
  std::unique_ptr<grpc::ClientContext> Context(absl::Time deadline) const;
  v1::KvScope Scope() const;
  // " (job J attempt A, worker W)".
  std::string Where() const;
  // The subset of `keys` that KvGet reports absent (best effort; all on error).
  std::vector<std::string> Missing(const std::vector<std::string>& keys);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  CoordinatorStoreOptions options_;
};

}  // namespace nmoe::comm
