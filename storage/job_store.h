// Typed access to jobs, their event logs, idempotency keys and workers.
//
// Durability: a write with sync = true is on stable storage when it returns.
// A caller may instead write unsynced and call KvStore::Sync() before
// acknowledging (the coordinator does, to keep fsyncs out of its lock).
// Unsynced writes can be lost by a crash, never reordered: sequence numbers
// stay dense because a later sync persists everything before it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/worker_service.pb.h"
#include "storage/kv_store.h"

namespace nmoe::storage {

class JobStore {
 public:
  explicit JobStore(KvStore* kv) : kv_(kv) {}

  // Writes a new job, its first events and (when non-empty) its idempotency key.
  absl::Status CreateJob(const v1::Job& job, const std::vector<v1::JobEvent>& events, bool sync = true);
  // Overwrites the job and appends events.
  absl::Status UpdateJob(const v1::Job& job, const std::vector<v1::JobEvent>& events, bool sync);

  // Deletes each job's record, its whole event log and its idempotency key, in
  // one atomic batch (the retention of ended jobs).
  absl::Status DeleteJobs(const std::vector<v1::Job>& jobs, bool sync);

  absl::StatusOr<std::optional<v1::Job>> GetJob(const std::string& job_id);
  // Visits every stored job in id order (creation order). Stops on the first error.
  absl::Status ForEachJob(const std::function<absl::Status(v1::Job)>& visit);
  absl::StatusOr<std::optional<std::string>> FindJobByIdempotencyKey(const std::string& key);

  // Events with seq >= from_seq, at most `limit` (0 = all), in order.
  absl::StatusOr<std::vector<v1::JobEvent>> ListEvents(const std::string& job_id, uint64_t from_seq,
                                                       size_t limit);

  absl::Status PutWorker(const v1::Worker& worker, bool sync);
  absl::Status ForEachWorker(const std::function<absl::Status(v1::Worker)>& visit);

 private:
  void AddJobAndEvents(WriteBatch& batch, const v1::Job& job, const std::vector<v1::JobEvent>& events);
  KvStore* kv_;
};

}  // namespace nmoe::storage
