// The clients of bench_load: each submits a job, watches it to its end
// (WatchJob, resuming from the next seq), and starts over; a few simulated
// workers lease and complete the jobs. RESOURCE_EXHAUSTED (the coordinator's
// back-pressure) is counted and retried after the server's retry-after-ms
// hint; any other error is a failure. One thread per client, blocking calls.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "bench/coordinator/histogram.h"
#include "bench/coordinator/load.h"

namespace nmoe::bench {

struct WatchLoadConfig {
  int clients = 1000;
  int workers = 8;                                // simulated workers completing the jobs
  absl::Duration deadline = absl::Seconds(30);    // of unary calls
  absl::Duration watch_deadline = absl::Minutes(10);
};

struct WatchLoadStats {
  RpcStats submit;                   // OK latency; codes
  LatencyHistogram first_event;      // WatchJob start (the admitted attempt) to its first event
  std::atomic<uint64_t> events{0}, jobs_watched{0}, watch_attempts{0}, watch_refused{0}, submit_refused{0};
  std::atomic<uint64_t> leases{0}, completions{0};
  std::atomic<int64_t> open_watches{0}, peak_open_watches{0};
  std::atomic<uint64_t> failures{0};
  std::mutex mu;
  std::vector<std::string> failure_samples;  // the first few, for the report
};

class WatchLoad {
 public:
  WatchLoad(WatchLoadConfig config, ChannelPool* pool);
  ~WatchLoad();

  // Registers the workers; false (with a failure recorded) when that fails.
  bool Prepare();
  void Start();
  // Stops every thread: open streams are cancelled (their CANCELLED is not an error).
  void Stop();
  WatchLoadStats& stats() { return stats_; }

 private:
  // The call a client has in flight, so Stop() can cancel it.
  struct Slot {
    std::mutex mu;
    grpc::ClientContext* context = nullptr;
  };
  void ClientLoop(int client);
  void WorkerLoop(int worker);
  void Fail(const std::string& what, const grpc::Status& status);
  // Sleeps `ms` plus up to 50% jitter; false when stopping.
  bool Backoff(int64_t ms, uint64_t salt);
  // Registers `context` in `slot`; false (and nothing registered) when stopping.
  bool Enter(Slot& slot, grpc::ClientContext* context);
  void Leave(Slot& slot);

  const WatchLoadConfig config_;
  ChannelPool* pool_;
  WatchLoadStats stats_;
  std::vector<std::string> worker_ids_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace nmoe::bench
