// nmoe-coordinator: the control-plane daemon. See docs/coordinator.md.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/token_file.h"
#include "common/version.h"
#include "coordinator/server.h"

int main(int argc, char** argv) {
  nmoe::coordinator::ServerConfig config;
  std::string token_file, port_file, log_level = "info";
  double heartbeat_s = 2, lease_ttl_s = 10;
  unsigned default_restarts = 3;
  CLI::App app{"nmoe-coordinator: schedules NeuronMoE profiling, allocation and training jobs"};
  app.set_version_flag("--version", std::string(nmoe::kVersion) + " (" + nmoe::kGitCommit + ")");
  app.add_option("--data-dir", config.data_dir, "RocksDB folder (created when missing)")->required();
  app.add_option("--listen", config.listen, "gRPC address host:port (port 0 = any free port)")->capture_default_str();
  app.add_option("--metrics-listen", config.metrics_listen, "Prometheus /metrics address host:port (empty = off)");
  app.add_option("--token-file", token_file, "file of accepted bearer tokens, '[role] token' a line (docs/security.md)")
      ->envname("NMOE_TOKEN_FILE");
  app.add_flag("--insecure-no-auth", config.insecure_no_auth, "accept calls without a token (loopback only)");
  app.add_option("--tls-cert", config.tls_cert_file, "PEM certificate chain: serve TLS");
  app.add_option("--tls-key", config.tls_key_file, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", config.tls_client_ca_file,
                 "PEM roots: require and verify client certificates they sign (mutual TLS)");
  app.add_option("--port-file", port_file, "write the bound gRPC port (and metrics port) here once serving");
  app.add_option("--heartbeat-interval", heartbeat_s, "seconds between worker heartbeats")->capture_default_str();
  app.add_option("--lease-ttl", lease_ttl_s, "seconds of silence after which a worker is lost")->capture_default_str();
  app.add_option("--default-max-restarts", default_restarts, "restart budget of jobs that set none")
      ->capture_default_str();
  std::vector<std::string> data_roots;
  app.add_option("--data-root", data_roots,
                 "folder job specs may name files in (repeatable); absolute spec paths outside every root are "
                 "refused at submission; none = any path (docs/security.md)");
  double finished_ttl_h = 720;
  config.control.max_finished_jobs = 10'000;
  app.add_option("--finished-job-ttl-hours", finished_ttl_h,
                 "delete an ended job (record and events; results stay) this long after it ended (0 = keep)")
      ->capture_default_str();
  app.add_option("--max-finished-jobs", config.control.max_finished_jobs,
                 "keep at most this many ended jobs, deleting the earliest-ended first; a pipeline counts once "
                 "(0 = no bound)")
      ->capture_default_str();
  double finished_min_s = 600;
  app.add_option("--finished-job-min-seconds", finished_min_s,
                 "keep every ended job at least this long, whatever --max-finished-jobs says (clients still "
                 "watching or reading it)")
      ->capture_default_str();
  auto& limits = config.limits;
  double retry_after_s = absl::ToDoubleSeconds(limits.retry_after);
  app.add_option("--max-watch-streams", limits.max_watch_streams, "open WatchJob streams in all (0 = no limit)")
      ->capture_default_str();
  app.add_option("--max-watch-streams-per-peer", limits.max_watch_streams_per_peer,
                 "open WatchJob streams per client connection (0 = no limit)")
      ->capture_default_str();
  app.add_option("--max-inflight-submits", limits.max_inflight_submits,
                 "SubmitJob calls handled at once (0 = no limit)")
      ->capture_default_str();
  app.add_option("--retry-after", retry_after_s, "seconds a refused client is told to wait (retry-after-ms)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  limits.retry_after = absl::Seconds(retry_after_s);
  // Debian's abseil checks every mutex for lock-order cycles (~3% of CPU here).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  if (auto s = nmoe::InitLogging(log_level); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 2;
  }
  if (!token_file.empty()) {
    auto tokens = nmoe::ReadTokenEntries(token_file);
    if (!tokens.ok()) {
      std::cerr << "error: " << tokens.status().message() << "\n";
      return 2;
    }
    config.role_tokens = *tokens;
  } else if (const char* token = std::getenv("NMOE_TOKEN"); token && *token) {
    config.tokens = {token};
  }
  if (heartbeat_s <= 0 || lease_ttl_s <= heartbeat_s) {
    std::cerr << "error: need 0 < --heartbeat-interval < --lease-ttl\n";
    return 2;
  }
  config.control.heartbeat_interval = absl::Seconds(heartbeat_s);
  config.control.lease_ttl = absl::Seconds(lease_ttl_s);
  config.control.default_max_restarts = default_restarts;
  if (!(finished_ttl_h >= 0)) {  // also NaN
    std::cerr << "error: --finished-job-ttl-hours must be >= 0\n";
    return 2;
  }
  config.control.finished_job_ttl = absl::Hours(finished_ttl_h);
  if (!(finished_min_s >= 0)) {
    std::cerr << "error: --finished-job-min-seconds must be >= 0\n";
    return 2;
  }
  config.control.finished_job_min_age = absl::Seconds(finished_min_s);
  auto roots = nmoe::DataRoots::Create(data_roots);
  if (!roots.ok()) {
    std::cerr << "error: " << roots.status().message() << "\n";
    return 2;
  }
  config.control.data_roots = *std::move(roots);

  // Signals are taken by a waiting thread below, not by handlers.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = nmoe::coordinator::CoordinatorServer::Start(config);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    return 1;
  }
  size_t bare = config.tokens.size();
  for (const auto& t : config.role_tokens) bare += t.role_given ? 0 : 1;
  if (bare > 0) {
    spdlog::warn(
        "{} token(s) without a role have the admin role; give each token the least role it needs "
        "(docs/security.md)",
        bare);
  }
  const bool auth = !config.tokens.empty() || !config.role_tokens.empty();
  spdlog::info("nmoe-coordinator {} serving gRPC on port {} (auth {}, TLS {}, data {}){}", nmoe::kVersion,
               (*server)->port(), auth ? "on" : "off",
               config.tls_cert_file.empty()
                   ? "off"
                   : (config.tls_client_ca_file.empty() ? "on" : "on, client certificates required"),
               config.data_dir,
               (*server)->metrics_port() ? " metrics on port " + std::to_string((*server)->metrics_port()) : "");
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->port() << "\n" << (*server)->metrics_port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  return 0;
}
