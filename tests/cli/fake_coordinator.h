// An in-process stand-in for nmoe-coordinator, for nmoectl's tests: the
// JobService, WorkerService (ListWorkers), ResultsService, InfoService and
// the standard health service, on 127.0.0.1 port 0. State is plain data the
// test fills in and inspects; every method takes the mutex.
#pragma once

#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nmoe/v1/info_service.grpc.pb.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/results_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"

namespace nmoe::cli::testing {

struct FakeState {
  std::mutex mu;
  std::string required_token;                   // non-empty: calls need "Bearer <token>"
  std::vector<std::string> authorization_seen;  // each call's metadata value
  std::vector<nmoe::v1::Job> jobs;              // ListJobs order (newest first)
  std::map<std::string, std::vector<nmoe::v1::JobEvent>> events;  // by job id, seq order
  std::vector<nmoe::v1::SubmitJobRequest> submits;
  std::map<std::string, std::string> job_by_key;  // idempotency key -> job id
  std::vector<nmoe::v1::ListJobsRequest> list_requests;
  std::vector<nmoe::v1::CancelJobRequest> cancels;
  std::vector<nmoe::v1::WatchJobRequest> watches;
  // The first `watch_breaks` WatchJob calls send at most `watch_break_after`
  // events, then fail with UNAVAILABLE.
  int watch_breaks = 0;
  int watch_break_after = 0;
  grpc::StatusCode watch_break_code = grpc::StatusCode::UNAVAILABLE;
  std::vector<nmoe::v1::Worker> workers;
  std::vector<nmoe::v1::Plan> plans;
  std::vector<nmoe::v1::NeuronStat> neurons;
  std::vector<nmoe::v1::QueryNeuronsRequest> neuron_requests;
  int get_job_delay_ms = 0;  // GetJob sleeps this long (deadline tests)
};

class FakeCoordinator {
 public:
  FakeCoordinator();
  ~FakeCoordinator();

  std::string address() const { return address_; }
  FakeState& state() { return *state_; }
  void SetServing(bool serving);

  // A job with the given id/kind/state, created 90 s before `now_seconds`.
  static nmoe::v1::Job MakeJob(const std::string& id, nmoe::v1::JobKind kind,
                               nmoe::v1::JobState state, int64_t now_seconds);

 private:
  std::unique_ptr<FakeState> state_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace nmoe::cli::testing
