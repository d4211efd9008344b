// bench_coordinator: load test of a real nmoe-coordinator on 127.0.0.1.
//
// Simulated workers register, then heartbeat at a target aggregate rate over
// a shared pool of channels (callback API); some of them lease and complete
// tasks of jobs that client threads submit and read back. Prints a report, a
// SUMMARY line and a JSON line. See bench/README.md.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/coordinator/coordinator_process.h"
#include "bench/coordinator/load.h"
#include "common/grpc_status.h"
#include "common/token_file.h"

namespace nmoe::bench {
namespace {

struct Flags {
  std::string address, coordinator_binary = DefaultCoordinatorBinary(), token, token_file, work_dir = "/tmp";
  std::vector<std::string> coordinator_args;
  bool insecure = false, keep_data = false;
  int channels = 8;
  double seconds = 20, warmup = 2, lease_ttl = 30, deadline_ms = 5000;
  double target_rate = 5000, target_p99_ms = 20;
};

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

std::string Errors(const RpcStats& s) {
  std::string out;
  for (int c = 1; c < RpcStats::kCodes; ++c) {
    if (s.by_code(c)) absl::StrAppend(&out, out.empty() ? "" : ", ", GrpcCodeName(static_cast<grpc::StatusCode>(c)), "=", s.by_code(c));
  }
  return out.empty() ? "none" : out;
}

void PrintRow(const char* name, const RpcStats& s, double seconds) {
  const auto& h = s.latency();
  fmt::print("  {:<16} {:>9} {:>10.1f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f}  errors: {}\n", name, s.ok(),
             seconds > 0 ? s.ok() / seconds : 0.0, h.PercentileMs(0.5), h.PercentileMs(0.9), h.PercentileMs(0.99),
             h.MaxMs(), Errors(s));
}

int Run(const Flags& flags, LoadConfig config) {
  std::unique_ptr<CoordinatorProcess> server;
  std::string address = flags.address, authorization;
  if (address.empty()) {
    CoordinatorProcessOptions options;
    options.binary = flags.coordinator_binary;
    options.keep_dir = flags.keep_data;
    options.parent_dir = flags.work_dir;
    options.extra_args = {"--lease-ttl", absl::StrCat(flags.lease_ttl), "--log-level", "warn"};
    options.extra_args.insert(options.extra_args.end(), flags.coordinator_args.begin(), flags.coordinator_args.end());
    auto started = CoordinatorProcess::Start(options);  // forks: before any thread exists
    if (!started.ok()) {
      std::cerr << "error: " << started.status().ToString() << "\n";
      return 2;
    }
    server = std::move(*started);
    address = absl::StrCat("127.0.0.1:", server->port());
    authorization = "Bearer " + server->token();
    fmt::print("started {} (pid {}) on {}, data in {}\n", flags.coordinator_binary, server->pid(), address,
               server->dir());
    std::fflush(stdout);  // so that a profiler can pick the pid up while the run goes on
  } else if (!flags.insecure) {
    std::string token = flags.token;
    if (token.empty() && !flags.token_file.empty()) {
      auto tokens = ReadTokenFile(flags.token_file);
      if (!tokens.ok() || tokens->empty()) {
        std::cerr << "error: no token in " << flags.token_file << "\n";
        return 2;
      }
      token = tokens->front();
    }
    if (token.empty()) {
      std::cerr << "error: with --address pass --token, --token-file or --insecure\n";
      return 2;
    }
    authorization = "Bearer " + token;
  }

  ChannelPool pool(address, flags.channels, authorization);
  if (!pool.WaitConnected(absl::Seconds(10))) {
    std::cerr << "error: cannot connect to " << address << "\n";
    return 2;
  }
  auto load = std::make_unique<Load>(config, &pool);
  if (!load->RegisterWorkers(absl::Seconds(120))) {
    std::cerr << "error: registering " << config.workers << " workers failed: "
              << Errors(load->stats().register_worker) << "\n";
    return 1;
  }
  load->Start();
  absl::SleepFor(absl::Seconds(flags.warmup));
  const double server_cpu0 = server ? server->CpuSeconds() : -1, self_cpu0 = SelfCpuSeconds();
  load->BeginWindow();
  absl::SleepFor(absl::Seconds(flags.seconds - flags.warmup));
  load->EndWindow();
  const double server_cpu = server ? server->CpuSeconds() - server_cpu0 : -1;
  const double self_cpu = SelfCpuSeconds() - self_cpu0;
  const std::string loadavg = LoadAverage();
  load->Stop();
  int server_exit = -1;
  if (server) {
    auto code = server->Stop(absl::Seconds(30));
    server_exit = code.ok() ? *code : -1;
    if (!code.ok()) std::cerr << "warning: " << code.status().ToString() << "\n";
  }

  const LoadStats& s = load->stats();
  const double window = load->window_seconds();
  const auto& hb = s.heartbeat.latency();
  const double hb_rate = s.heartbeat.ok() / window;
  // The generator is open loop at exactly the offered rate; the edges of the
  // window make the achieved rate wobble around it, hence the 1% tolerance.
  const bool rate_met = config.heartbeat_rate >= flags.target_rate && hb_rate >= 0.99 * flags.target_rate;
  const bool met = rate_met && hb.PercentileMs(0.99) < flags.target_p99_ms;
  fmt::print("\ncoordinator bench: {} workers ({} leasing), {} channels, {} heartbeat threads, {} clients; "
             "{:.1f} s measured after {:.1f} s warm-up\n",
             config.workers, config.lessees, flags.channels, config.heartbeat_threads, config.clients, window,
             flags.warmup);
  fmt::print("  registration: {} workers in {:.2f} s ({:.0f}/s), p50 {:.2f} ms p99 {:.2f} ms\n",
             s.register_worker.ok(), s.register_seconds, s.register_worker.ok() / s.register_seconds,
             s.register_worker.latency().PercentileMs(0.5), s.register_worker.latency().PercentileMs(0.99));
  fmt::print("  {:<16} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "rpc", "ok", "ok/s", "p50 ms", "p90 ms", "p99 ms",
             "max ms");
  PrintRow("Heartbeat", s.heartbeat, window);
  PrintRow("LeaseTask", s.lease, window);
  PrintRow("LeaseTask (hit)", s.lease_hit, window);
  PrintRow("ReportProgress", s.report_progress, window);
  PrintRow("CompleteTask", s.complete, window);
  PrintRow("SubmitJob", s.submit, window);
  PrintRow("GetJob", s.get_job, window);
  PrintRow("ListJobs", s.list_jobs, window);
  fmt::print("  heartbeats: target {:.0f}/s; skipped (previous still in flight) {}; dropped (sender > 100 ms late) "
             "{}; revoked task ids {}\n",
             config.heartbeat_rate, s.heartbeat_skipped.load(), s.heartbeat_dropped.load(), s.revoked.load());
  const std::string server_cores = server ? fmt::format("{:.2f} cores", server_cpu / window) : "n/a (--address)";
  fmt::print("  cpu: coordinator {}, bench {:.2f} cores (of {}); load average {}; coordinator exit {}\n",
             server_cores, self_cpu / window, sysconf(_SC_NPROCESSORS_ONLN), loadavg,
             server ? std::to_string(server_exit) : "n/a");
  fmt::print("SUMMARY heartbeats/s={:.0f} p50={:.2f}ms p90={:.2f}ms p99={:.2f}ms max={:.2f}ms submit/s={:.1f} "
             "submit_p99={:.2f}ms lease_p99={:.2f}ms errors={} target(>={:.0f}/s within 1%, p99<{:.0f}ms)={}\n",
             hb_rate, hb.PercentileMs(0.5), hb.PercentileMs(0.9), hb.PercentileMs(0.99), hb.MaxMs(),
             s.submit.ok() / window, s.submit.latency().PercentileMs(0.99), s.lease.latency().PercentileMs(0.99),
             s.heartbeat.errors() + s.lease.errors() + s.submit.errors() + s.get_job.errors() + s.list_jobs.errors() +
                 s.complete.errors() + s.report_progress.errors(),
             flags.target_rate, flags.target_p99_ms, met ? "MET" : "MISSED");
  nlohmann::json json = {
      {"bench", "coordinator"},
      {"workers", config.workers},
      {"lessees", config.lessees},
      {"channels", flags.channels},
      {"heartbeat_threads", config.heartbeat_threads},
      {"clients", config.clients},
      {"seconds", window},
      {"heartbeat_target_per_s", config.heartbeat_rate},
      {"heartbeat_skipped", s.heartbeat_skipped.load()},
      {"heartbeat_dropped", s.heartbeat_dropped.load()},
      {"register", s.register_worker.ToJson(s.register_seconds)},
      {"heartbeat", s.heartbeat.ToJson(window)},
      {"lease", s.lease.ToJson(window)},
      {"lease_hit", s.lease_hit.ToJson(window)},
      {"report_progress", s.report_progress.ToJson(window)},
      {"complete", s.complete.ToJson(window)},
      {"submit", s.submit.ToJson(window)},
      {"get_job", s.get_job.ToJson(window)},
      {"list_jobs", s.list_jobs.ToJson(window)},
      {"coordinator_cpu_cores", server ? nlohmann::json(server_cpu / window) : nlohmann::json(nullptr)},
      {"bench_cpu_cores", self_cpu / window},
      {"coordinator_exit", server ? nlohmann::json(server_exit) : nlohmann::json(nullptr)},
      {"load_average", loadavg},
      {"target_met", met},
  };
  fmt::print("JSON {}\n", json.dump());
  return server_exit > 0 ? 1 : 0;
}

}  // namespace
}  // namespace nmoe::bench

int main(int argc, char** argv) {
  // Debian's Abseil is built with mutex deadlock detection on, which gRPC's
  // absl::Mutex then pays for on every lock: keep the client's share of the
  // (shared) cores small.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  nmoe::bench::Flags flags;
  nmoe::bench::LoadConfig config;
  double task_hold_ms = 100, lease_poll_ms = 100;
  CLI::App app{"bench_coordinator: heartbeat, lease and submit load against a real nmoe-coordinator"};
  app.add_option("--address", flags.address, "coordinator host:port (default: start one on a temp folder)");
  app.add_option("--coordinator", flags.coordinator_binary, "nmoe-coordinator binary to start")->capture_default_str();
  app.add_option("--coordinator-arg", flags.coordinator_args, "extra flag for the started coordinator (repeatable)");
  app.add_option("--token", flags.token, "bearer token (with --address)");
  app.add_option("--token-file", flags.token_file, "file whose first line is the token (with --address)");
  app.add_flag("--insecure", flags.insecure, "send no token (with --address)");
  app.add_option("--work-dir", flags.work_dir, "parent of the started coordinator's folder (/dev/shm: tmpfs)")
      ->capture_default_str();
  app.add_flag("--keep-data", flags.keep_data, "keep the started coordinator's folder (data, log)");
  app.add_option("--workers", config.workers, "simulated workers")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--heartbeat-rate", config.heartbeat_rate, "aggregate heartbeats/s")->capture_default_str();
  app.add_option("--heartbeat-threads", config.heartbeat_threads, "heartbeat sender threads")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--channels", flags.channels, "gRPC channels (TCP connections) shared by all")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--lessees", config.lessees, "workers that also lease and complete tasks")->capture_default_str();
  app.add_option("--lessee-threads", config.lessee_threads, "threads driving the lessees")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--task-hold-ms", task_hold_ms, "how long a leased task is held")->capture_default_str();
  app.add_option("--lease-poll-ms", lease_poll_ms, "lessee pause after a round without work")->capture_default_str();
  app.add_option("--clients", config.clients, "job-submitting client threads")->capture_default_str();
  app.add_option("--submit-rate", config.submit_rate, "aggregate submits/s (0 = unpaced)")->capture_default_str();
  app.add_option("--list-every", config.list_every, "ListJobs after every n-th submit (0 = never)")
      ->capture_default_str();
  app.add_option("--seconds", flags.seconds, "load duration, warm-up included")->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--warmup", flags.warmup, "seconds before measuring")->capture_default_str();
  app.add_option("--deadline-ms", flags.deadline_ms, "deadline of every call")->capture_default_str();
  app.add_option("--lease-ttl", flags.lease_ttl, "--lease-ttl of the started coordinator (s)")->capture_default_str();
  app.add_option("--target-rate", flags.target_rate, "heartbeats/s the summary checks")->capture_default_str();
  app.add_option("--target-p99-ms", flags.target_p99_ms, "heartbeat p99 the summary checks")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (flags.warmup < 0 || flags.warmup >= flags.seconds) {
    std::cerr << "error: need 0 <= --warmup < --seconds\n";
    return 2;
  }
  config.task_hold = absl::Milliseconds(task_hold_ms);
  config.lease_poll = absl::Milliseconds(lease_poll_ms);
  config.deadline = absl::Milliseconds(flags.deadline_ms);
  return nmoe::bench::Run(flags, config);
}
