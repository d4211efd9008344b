// nmoe-worker: registers with a coordinator, leases tasks and runs them
// (worker/agent.h). See docs/worker.md.
//   nmoe-worker --coordinator HOST:PORT --token-file F [--threads N] [--work-dir D]
//               [--ca CA.pem [--tls-cert C.pem --tls-key K.pem]]
// Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 runtime error, 2 usage.
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/global_options.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/version.h"
#include "compute/blas_kernels.h"
#include "compute/compute_info.h"
#include "compute/compute_metrics.h"
#include "worker/agent.h"
#include "worker/capabilities.h"
#include "worker/gang_task.h"
#include "worker/worker_metrics.h"

namespace {

int g_signal_pipe[2] = {-1, -1};

extern "C" void OnSignal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &byte, 1);
}

}  // namespace

int main(int argc, char** argv) {
  const auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);  // may re-exec this process
  CLI::App app{"nmoe-worker: runs nmoe tasks leased from a coordinator"};
  app.set_version_flag("--version", std::string(nmoe::kVersion) + " (" + nmoe::kGitCommit + ")");
  nmoe::cli::GlobalFlags flags;
  std::string device_text = "cpu", work_dir = ".", name, log_level = "info";
  int threads = 0, workers_per_host = 1, metrics_port = -1;
  double report_interval_s = 0.5, shutdown_grace_s = 30;
  std::string advertise_host;
  app.add_option("--coordinator", flags.address, "coordinator address host:port (env NMOE_ADDRESS)");
  app.add_option("--token", flags.token, "bearer token (env NMOE_TOKEN)");
  app.add_option("--token-file", flags.token_file,
                 "token file: its first 'worker' line, else its first line (env NMOE_TOKEN_FILE)");
  app.add_flag("--tls", flags.tls, "connect with TLS (implied by --ca)");
  app.add_option("--ca", flags.ca_file, "PEM root certificates for TLS (default: the system's)");
  app.add_option("--tls-cert", flags.tls_cert_file, "PEM client certificate for mutual TLS (implies --tls)");
  app.add_option("--tls-key", flags.tls_key_file, "PEM private key of --tls-cert");
  app.add_option("--timeout", flags.timeout, "deadline of every coordinator call")->capture_default_str();
  app.add_option("--device", device_text, "cpu, or cuda:N in a GPU build")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0 = usable cores / --workers-per-host)");
  app.add_option("--workers-per-host", workers_per_host, "workers sharing this machine (for --threads' default)")
      ->capture_default_str();
  app.add_option("--work-dir", work_dir, "relative paths of job specs resolve here")->capture_default_str();
  std::vector<std::string> data_roots;
  app.add_option("--data-root", data_roots,
                 "folder job specs may name files in (repeatable; --work-dir is one too); a task naming a path "
                 "outside fails before it runs; none = any path (docs/security.md)");
  app.add_option("--name", name, "a label shown in `nmoectl workers` (capabilities.labels[name])");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.add_option("--metrics-port", metrics_port, "serve Prometheus /metrics on this port (0 = any; absent = off)");
  app.add_option("--report-interval", report_interval_s, "seconds between progress reports")->capture_default_str();
  app.add_option("--advertise-host", advertise_host,
                 "address other ranks of a gang reach this worker at (default: the hostname)");
  app.add_option("--shutdown-grace", shutdown_grace_s,
                 "seconds to keep trying a lost coordinator after SIGTERM before exiting")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  flags.prefer_role = nmoe::Role::kWorker;

  if (auto s = nmoe::InitLogging(log_level); !s.ok()) {
    std::cerr << "nmoe-worker: " << s.message() << "\n";
    return 2;
  }
  auto resolved = nmoe::cli::ResolveGlobalOptions(flags, nmoe::cli::ProcessEnv());
  if (!resolved.ok()) {
    std::cerr << "nmoe-worker: " << resolved.status().message() << "\n";
    return 2;
  }
  auto device = nmoe::worker::ParseDevice(device_text);
  if (!device.ok()) {
    std::cerr << "nmoe-worker: " << device.status().message() << "\n";
    return 2;
  }
  if (threads < 0 || workers_per_host < 1 || report_interval_s <= 0 || shutdown_grace_s < 0) {
    std::cerr << "nmoe-worker: need --threads >= 0, --workers-per-host >= 1, --report-interval > 0\n";
    return 2;
  }

  // SIGTERM/SIGINT: a handler writes the signal to a pipe that a thread
  // (below) reads. A handler, not a blocked mask, because threads created
  // before main (LibTorch, OpenBLAS) would not inherit the mask.
  if (pipe(g_signal_pipe) != 0) {
    std::cerr << "nmoe-worker: pipe failed\n";
    return 1;
  }
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  nmoe::compute::ComputeOptions compute;
  compute.threads.intra_op = threads;
  compute.threads.workers_on_machine = workers_per_host;
  auto info = nmoe::compute::InitCompute(kernels, compute);
  if (!info.ok()) {
    spdlog::error("compute: {}", info.status().ToString());
    return 1;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  nmoe::AddBuildInfo(*registry, "worker");
  nmoe::compute::RegisterComputeMetrics(*registry, *info);
  nmoe::worker::WorkerMetrics metrics(*registry);
  std::unique_ptr<nmoe::MetricsServer> metrics_server;
  if (metrics_port >= 0) {
    auto server = nmoe::MetricsServer::Start("0.0.0.0:" + std::to_string(metrics_port), registry);
    if (!server.ok()) {
      spdlog::error("metrics: {}", server.status().ToString());
      return 1;
    }
    metrics_server = std::move(*server);
    spdlog::info("metrics on port {}", metrics_server->port());
  }

  nmoe::worker::AgentOptions options;
  options.connection = resolved->connection;
  options.connection.max_reconnect_backoff = absl::Seconds(2);  // under the agent's own backoff
  options.work_dir = work_dir;
  if (!data_roots.empty()) {
    data_roots.push_back(work_dir);
    auto roots = nmoe::DataRoots::Create(data_roots);
    if (!roots.ok()) {
      spdlog::error("{}", roots.status().ToString());
      return 2;
    }
    options.data_roots = *std::move(roots);
  }
  options.capabilities = nmoe::worker::DetectCapabilities(*device, info->threads.intra_op);
  if (!name.empty()) (*options.capabilities.mutable_labels())["name"] = name;
  options.report_interval = absl::Seconds(report_interval_s);
  options.shutdown_grace = absl::Seconds(shutdown_grace_s);
  nmoe::worker::GangOptions gang;
  gang.advertise_host = advertise_host;
  options.gang_task = [gang](const nmoe::v1::Task& task, std::unique_ptr<nmoe::Task> inner,
                             const nmoe::cli::Client& client, const std::string& worker_id) {
    return nmoe::worker::NewGangTask(task, std::move(inner), client, worker_id, gang);
  };
  const nmoe::worker::TaskRegistry tasks = nmoe::worker::BuiltinTasks();
  nmoe::worker::Agent agent(options, &tasks, &metrics);

  std::thread signal_thread([&] {
    unsigned char signal = 0;
    while (read(g_signal_pipe[0], &signal, 1) < 0 && errno == EINTR) {
    }
    if (signal == 0) return;  // main is exiting
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    agent.Shutdown();
  });
  spdlog::info("nmoe-worker {} ({}) device {} threads {} work dir {} coordinator {}", nmoe::kVersion,
               nmoe::kGitCommit, device_text, info->threads.intra_op, work_dir, options.connection.address);
  const absl::Status status = agent.Run();
  if (!status.ok()) {
    spdlog::error("{}", status.ToString());
    const unsigned char none = 0;  // wakes the signal thread
    if (write(g_signal_pipe[1], &none, 1) != 1) std::abort();
    signal_thread.join();
    return 1;
  }
  if (signal_thread.joinable()) {
    // Run() returns only after a signal, so the thread has already returned.
    signal_thread.join();
  }
  return 0;
}
