// One rank of a gang: forms the gang's communicator, then runs the task kind with it
// in TaskContext::comm. Rendezvous goes through the coordinator's KV API under the
// job attempt's scope (comm/coordinator_rendezvous_store.h), so a restarted attempt
// never meets a stale address; Gloo publishes each rank's ephemeral TCP port there.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "cli/client.h"
#include "common/task.h"

namespace nmoe::worker {

struct GangOptions {
  std::string advertise_host;  // the address other ranks reach this one at; empty = hostname
  absl::Duration rendezvous_timeout = absl::Minutes(10);  // ranks lease at different times
  absl::Duration collective_timeout = absl::Minutes(5);   // bounds every collective
};

// The FailTask reason of a rank whose collective failed (a peer died or went
// silent): the coordinator then waits up to a lease TTL for the lost worker to
// be declared lost, so the attempt ends naming it (WORKER_LOST), not the survivor.
inline constexpr char kPeerLostReason[] = "PEER_LOST";

// `client` must outlive the returned task. A failure to form the communicator is
// UNAVAILABLE (retryable): the attempt restarts within the job's budget.
std::unique_ptr<Task> NewGangTask(const v1::Task& task, std::unique_ptr<Task> inner, const cli::Client& client,
                                  const std::string& worker_id, GangOptions options);

}  // namespace nmoe::worker
