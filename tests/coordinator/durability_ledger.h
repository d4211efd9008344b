// What the clients of the durability loop were told: acknowledged jobs (with
// the spec they submitted), acknowledged state changes, registered workers, and
// submissions whose outcome is unknown (the call failed: the coordinator died).
// Thread-safe. CheckStore compares it with a RocksDB folder the coordinator left.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/job_spec.pb.h"
#include "storage/kv_store.h"

namespace nmoe::testing {

struct LedgerCounts {
  int64_t submits = 0;         // acknowledged SubmitJob calls that created a job
  int64_t found_unacked = 0;   // retries of unknown submissions that found the job stored
  int64_t cancels = 0;         // acknowledged CancelJob calls
  int64_t leases = 0;          // acknowledged LeaseTask calls that returned a task
  int64_t completions = 0;     // acknowledged CompleteTask calls
  int64_t registrations = 0;   // acknowledged RegisterWorker calls
  int64_t heartbeats = 0;      // acknowledged Heartbeat calls
  int64_t failed_calls = 0;    // calls that got no OK (the coordinator was down or died)
};

class DurabilityLedger {
 public:
  struct Submission {
    std::string key;
    v1::JobSpec spec;
  };

  // The job `job_id` was acknowledged for `submission`.
  void AckJob(const std::string& job_id, const Submission& submission, bool created);
  // A call acknowledged that the job was, right then, in one of `states`.
  void AckState(const std::string& job_id, std::set<v1::JobState> states);
  void AckWorker(const std::string& worker_id);
  // A submission that failed: it may or may not be stored.
  void AddUnknown(Submission submission);
  // Removes and returns one unknown submission (false when none), chosen by `pick`.
  bool TakeUnknown(uint64_t pick, Submission* out);
  void Count(int64_t LedgerCounts::*field, int64_t n = 1);

  LedgerCounts counts() const;
  size_t acknowledged_jobs() const;

  // Opens no store itself: checks the jobs, events, idempotency keys and
  // workers in `kv` against everything acknowledged. Returns one line per
  // problem (empty = all good); `stored_ids` gets the stored job ids.
  std::vector<std::string> CheckStore(storage::KvStore& kv, std::set<std::string>* stored_ids) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Submission> jobs_;                          // acknowledged, by job id
  std::map<std::string, std::vector<std::set<v1::JobState>>> states_;  // acknowledged states, by job id
  std::set<std::string> workers_;
  std::vector<Submission> unknown_;
  LedgerCounts counts_;
};

// True when the job life cycle can go from `from` to `to` in zero or more steps.
bool Reachable(v1::JobState from, v1::JobState to);

}  // namespace nmoe::testing
