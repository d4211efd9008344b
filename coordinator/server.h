// The coordinator process's parts wired together: RocksDB, the control plane,
// the gRPC server (services, health, reflection, metrics interceptor), the
// Prometheus endpoint and the lease clock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/token_file.h"
#include "coordinator/admission.h"
#include "coordinator/auth.h"
#include "coordinator/control_plane.h"
#include "coordinator/pipeline_driver.h"
#include "storage/results_store.h"
#include "storage/rocksdb_store.h"

namespace nmoe::coordinator {

class JobServiceImpl;
class WorkerServiceImpl;
class ResultsServiceImpl;
class InfoServiceImpl;

// The largest gRPC message the server receives or sends.
inline constexpr int kMaxMessageBytes = 16 << 20;

struct ServerConfig {
  std::string data_dir;                      // RocksDB folder; created when missing
  std::string listen = "127.0.0.1:7070";     // gRPC address; port 0 picks one
  std::string metrics_listen;                // Prometheus address; empty = off
  std::vector<std::string> tokens;           // accepted bearer tokens of role admin
  std::vector<TokenEntry> role_tokens;       // accepted bearer tokens with their roles
  bool insecure_no_auth = false;             // required when no token is given; loopback only
  std::string tls_cert_file, tls_key_file;   // PEM; both or neither
  // PEM roots: clients must present a certificate they sign (mutual TLS).
  // Needs tls_cert_file. Bearer tokens are still checked.
  std::string tls_client_ca_file;
  ControlPlaneOptions control;               // control.data_roots: --data-root
  AdmissionLimits limits;                    // back-pressure (coordinator/admission.h)
  absl::Duration tick_interval = absl::Milliseconds(250);  // lease clock; 0 = tests call Tick()
};

class CoordinatorServer {
 public:
  // Validates the config, opens the database, recovers state, starts serving.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(const ServerConfig& config,
                                                                  const Clock* clock = SystemClock::Get());
  ~CoordinatorServer();

  int port() const { return port_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  ControlPlane& control_plane() { return *control_plane_; }
  storage::ResultsStore& results() { return *results_; }
  const Admission& admission() const { return *admission_; }

  // Health goes NOT_SERVING, watch streams end with UNAVAILABLE, in-flight
  // calls get `grace` to finish, then the database closes. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

 private:
  CoordinatorServer() = default;
  void TickLoop(absl::Duration interval);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<storage::RocksDbStore> db_;
  std::unique_ptr<CoordinatorMetrics> coordinator_metrics_;
  std::unique_ptr<ControlPlane> control_plane_;
  std::unique_ptr<storage::ResultsStore> results_;
  std::unique_ptr<PipelineDriver> pipeline_driver_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<JobServiceImpl> job_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<ResultsServiceImpl> results_service_;
  std::unique_ptr<InfoServiceImpl> info_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsServer> metrics_;
  int port_ = 0;

  std::atomic<bool> shutting_down_{false};
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  std::thread tick_thread_;
  std::once_flag shutdown_once_;
};

// True for 127.0.0.0/8, ::1 and "localhost" (with or without a port).
bool IsLoopbackAddress(const std::string& address);

}  // namespace nmoe::coordinator
