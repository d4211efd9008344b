// Load generators of the coordinator benchmark: simulated workers (register,
// heartbeat at a target aggregate rate, some lease and complete tasks) and
// client threads (submit jobs, read them back). All calls go over a shared
// pool of channels; heartbeats use the callback API, the rest blocking calls
// on their own threads. Only calls started inside the measurement window count.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/time/time.h"
#include "bench/coordinator/histogram.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"

namespace nmoe::bench {

// A valid single-worker CPU profile job named `name` (its paths are never opened).
v1::JobSpec BenchSpec(const std::string& name);

struct LoadConfig {
  int workers = 1000;              // simulated workers, all registered before the run
  double heartbeat_rate = 5000;    // aggregate heartbeats per second (open loop)
  int heartbeat_threads = 2;       // threads issuing heartbeats
  int lessees = 32;                // workers (among `workers`) that also lease and complete tasks
  int lessee_threads = 2;
  absl::Duration task_hold = absl::Milliseconds(100);  // a leased task is held this long
  int clients = 4;                 // job-submitting client threads
  double submit_rate = 100;        // aggregate submits per second; 0 = as fast as possible
  int list_every = 10;             // a ListJobs after every n-th submit of a client
  absl::Duration lease_poll = absl::Milliseconds(100);  // lessee pause after a round with no work
  absl::Duration deadline = absl::Seconds(5);  // of every call
};

// Everything measured, by method.
struct LoadStats {
  RpcStats register_worker, heartbeat, lease, lease_hit, report_progress, complete, submit, get_job, list_jobs;
  std::atomic<uint64_t> heartbeat_skipped{0};   // due while the worker's previous heartbeat was in flight
  std::atomic<uint64_t> heartbeat_dropped{0};   // schedule slots dropped because a sender fell > 100 ms behind
  std::atomic<uint64_t> revoked{0};             // task ids returned as revoked by heartbeats
  double register_seconds = 0;
};

class ChannelPool {
 public:
  // `authorization`: the metadata value ("Bearer ..."), empty = send none.
  ChannelPool(const std::string& address, int channels, std::string authorization);
  v1::WorkerService::Stub& workers(size_t i) { return *workers_[i % workers_.size()]; }
  v1::JobService::Stub& jobs(size_t i) { return *jobs_[i % jobs_.size()]; }
  // Fresh context with deadline and auth metadata.
  void Prepare(grpc::ClientContext& context, absl::Duration deadline) const;
  // Waits until every channel is connected.
  bool WaitConnected(absl::Duration timeout);

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::WorkerService::Stub>> workers_;
  std::vector<std::unique_ptr<v1::JobService::Stub>> jobs_;
  std::string authorization_;
};

class Load {
 public:
  Load(LoadConfig config, ChannelPool* pool) : config_(std::move(config)), pool_(pool) {}
  ~Load() { Stop(); }

  // Registers every simulated worker (at most 64 calls in flight); fails when any
  // registration fails or `timeout` passes.
  bool RegisterWorkers(absl::Duration timeout);
  // Starts all generator threads. Nothing is recorded before BeginWindow.
  void Start();
  // Opens / closes the measurement window; the load runs on until Stop.
  void BeginWindow();
  void EndWindow();
  // Stops the threads and waits (up to the call deadline) for calls in flight.
  void Stop();

  double window_seconds() const { return absl::ToDoubleSeconds(window_end_ - window_start_); }
  const LoadStats& stats() const { return stats_; }
  const LoadConfig& config() const { return config_; }

 private:
  struct SimWorker {
    std::string id;
    std::atomic<bool> heartbeat_in_flight{false};
    std::mutex mu;
    std::string task_id;  // held task, under mu
    absl::Time leased_at;
  };

  bool measuring() const { return measuring_.load(std::memory_order_relaxed); }
  void HeartbeatLoop(int thread);
  void SendHeartbeat(SimWorker& worker, size_t channel);
  void LesseeLoop(int thread);
  void ClientLoop(int thread);
  void Sleep(absl::Duration d);

  const LoadConfig config_;
  ChannelPool* pool_;
  std::vector<std::unique_ptr<SimWorker>> workers_;
  LoadStats stats_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> measuring_{false};
  std::atomic<int64_t> in_flight_{0};
  absl::Time window_start_, window_end_;
  std::vector<std::thread> threads_;
};

}  // namespace nmoe::bench
