// bench_load: 1,000 concurrent clients submitting AND watching jobs against a
// real nmoe-coordinator child process (RocksDB on a temp folder) whose
// back-pressure limits are set low on purpose, so that some calls are refused
// with RESOURCE_EXHAUSTED (and retried after the server's hint). Any other
// error is a failure: the bench then exits 1. Reports submissions/s, events/s,
// p50/p99 of SubmitJob and of WatchJob-to-first-event, and the coordinator's
// RSS (VmRSS sampled every 250 ms, VmHWM) during and after the load. See
// bench/RESULTS.md, "coordinator" / "1,000 clients".
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/coordinator/coordinator_process.h"
#include "bench/coordinator/watch_clients.h"

namespace nmoe::bench {
namespace {

struct Flags {
  std::string coordinator_binary = DefaultCoordinatorBinary(), work_dir = "/tmp";
  std::vector<std::string> coordinator_args;
  int channels = 32;
  double seconds = 30, settle = 3;
  int max_watch_streams = 600, max_watch_streams_per_peer = 28, max_inflight_submits = 2;
  double retry_after = 0.25;
};

// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); -1 when unreadable.
long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

int Run(const Flags& flags, WatchLoadConfig config) {
  CoordinatorProcessOptions options;
  options.binary = flags.coordinator_binary;
  options.parent_dir = flags.work_dir;
  options.extra_args = {"--lease-ttl", "600", "--heartbeat-interval", "5", "--log-level", "warn",
                        "--max-watch-streams", absl::StrCat(flags.max_watch_streams),
                        "--max-watch-streams-per-peer", absl::StrCat(flags.max_watch_streams_per_peer),
                        "--max-inflight-submits", absl::StrCat(flags.max_inflight_submits),
                        "--retry-after", absl::StrCat(flags.retry_after)};
  options.extra_args.insert(options.extra_args.end(), flags.coordinator_args.begin(), flags.coordinator_args.end());
  auto server = CoordinatorProcess::Start(options);  // forks: before any thread exists
  if (!server.ok()) {
    std::cerr << "error: " << server.status().ToString() << "\n";
    return 2;
  }
  const pid_t pid = (*server)->pid();
  const long rss_idle_kb = StatusKb(pid, "VmRSS");
  fmt::print("started {} (pid {}) on port {}, data in {}; RSS idle {} KiB\n", flags.coordinator_binary, pid,
             (*server)->port(), (*server)->dir(), rss_idle_kb);
  std::fflush(stdout);

  ChannelPool pool(absl::StrCat("127.0.0.1:", (*server)->port()), flags.channels, "Bearer " + (*server)->token());
  if (!pool.WaitConnected(absl::Seconds(10))) {
    std::cerr << "error: cannot connect\n";
    return 2;
  }
  WatchLoad load(config, &pool);
  if (!load.Prepare()) {
    std::cerr << "error: registering workers failed: " << load.stats().failure_samples.front() << "\n";
    return 1;
  }
  const double cpu0 = (*server)->CpuSeconds();
  const absl::Time start = absl::Now();
  load.Start();
  // RSS every 250 ms; the quarter marks show whether it levels off.
  std::vector<long> quarters;
  long rss_peak_sampled = 0;
  for (int q = 1; q <= 4; ++q) {
    const absl::Time until = start + absl::Seconds(flags.seconds) * q / 4;
    while (absl::Now() < until) {
      rss_peak_sampled = std::max(rss_peak_sampled, StatusKb(pid, "VmRSS"));
      absl::SleepFor(absl::Milliseconds(250));
    }
    quarters.push_back(StatusKb(pid, "VmRSS"));
  }
  const double window = absl::ToDoubleSeconds(absl::Now() - start);
  WatchLoadStats& s = load.stats();
  // Rates over the window: read before Stop() so the wind-down does not count.
  const uint64_t submits = s.submit.ok(), events = s.events.load(), watched = s.jobs_watched.load();
  const double cpu = (*server)->CpuSeconds() - cpu0;
  const std::string loadavg = LoadAverage();
  load.Stop();
  absl::SleepFor(absl::Seconds(flags.settle));  // streams closed, calls drained
  const long rss_after_kb = StatusKb(pid, "VmRSS"), hwm_kb = StatusKb(pid, "VmHWM");
  auto code = (*server)->Stop(absl::Seconds(60));
  const int server_exit = code.ok() ? *code : -1;

  const auto& sub = s.submit.latency();
  const auto& first = s.first_event;
  fmt::print("\nbench_load: {} clients (submit + watch each), {} workers, {} channels; {:.1f} s; limits: watch "
             "streams {} in all / {} per connection, {} submissions in flight, retry hint {} s\n",
             config.clients, config.workers, flags.channels, window, flags.max_watch_streams,
             flags.max_watch_streams_per_peer, flags.max_inflight_submits, flags.retry_after);
  fmt::print("  SubmitJob: {} ok ({:.1f}/s), p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms; refused "
             "RESOURCE_EXHAUSTED {}\n",
             submits, submits / window, sub.PercentileMs(0.5), sub.PercentileMs(0.99), sub.MaxMs(),
             s.submit_refused.load());
  fmt::print("  WatchJob: {} attempts, {} refused RESOURCE_EXHAUSTED, {} jobs watched to their end; events {} "
             "({:.1f}/s); first event p50 {:.2f} ms, p99 {:.2f} ms; streams open at once (client view) peak {}\n",
             s.watch_attempts.load(), s.watch_refused.load(), watched, events, events / window,
             first.PercentileMs(0.5), first.PercentileMs(0.99), s.peak_open_watches.load());
  fmt::print("  workers: {} leases, {} completions\n", s.leases.load(), s.completions.load());
  fmt::print("  coordinator RSS KiB: idle {}, at 1/4 2/4 3/4 4/4 of the run {} {} {} {}, sampled peak {}, VmHWM {}, "
             "{:.0f} s after the load {}\n",
             rss_idle_kb, quarters[0], quarters[1], quarters[2], quarters[3], rss_peak_sampled, hwm_kb, flags.settle,
             rss_after_kb);
  fmt::print("  coordinator cpu {:.2f} cores; load average {}; coordinator exit {}\n", cpu / window, loadavg,
             server_exit);
  fmt::print("  other errors (failures): {}\n", s.failures.load());
  for (const auto& f : s.failure_samples) fmt::print("    {}\n", f);
  fmt::print("SUMMARY clients={} submit/s={:.1f} events/s={:.1f} submit_p50={:.2f}ms submit_p99={:.2f}ms "
             "first_event_p50={:.2f}ms first_event_p99={:.2f}ms refused_submit={} refused_watch={} "
             "rss_peak={}KiB rss_after={}KiB failures={}\n",
             config.clients, submits / window, events / window, sub.PercentileMs(0.5), sub.PercentileMs(0.99),
             first.PercentileMs(0.5), first.PercentileMs(0.99), s.submit_refused.load(), s.watch_refused.load(),
             hwm_kb, rss_after_kb, s.failures.load());
  nlohmann::json json = {
      {"bench", "coordinator_load"}, {"clients", config.clients}, {"workers", config.workers},
      {"channels", flags.channels}, {"seconds", window}, {"submit", s.submit.ToJson(window)},
      {"submit_refused", s.submit_refused.load()}, {"watch_attempts", s.watch_attempts.load()},
      {"watch_refused", s.watch_refused.load()}, {"jobs_watched", watched}, {"events", events},
      {"events_per_s", events / window}, {"first_event_p50_ms", first.PercentileMs(0.5)},
      {"first_event_p99_ms", first.PercentileMs(0.99)}, {"peak_open_watches", s.peak_open_watches.load()},
      {"rss_idle_kb", rss_idle_kb}, {"rss_quarters_kb", quarters}, {"rss_hwm_kb", hwm_kb},
      {"rss_after_kb", rss_after_kb}, {"coordinator_cpu_cores", cpu / window}, {"load_average", loadavg},
      {"failures", s.failures.load()}, {"coordinator_exit", server_exit}};
  fmt::print("JSON {}\n", json.dump());
  return s.failures.load() > 0 || server_exit != 0 ? 1 : 0;
}

}  // namespace
}  // namespace nmoe::bench

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // see bench_coordinator.cc
  nmoe::bench::Flags flags;
  nmoe::bench::WatchLoadConfig config;
  CLI::App app{"bench_load: 1,000 clients submitting and watching jobs against a real nmoe-coordinator"};
  app.add_option("--coordinator", flags.coordinator_binary, "nmoe-coordinator binary to start")->capture_default_str();
  app.add_option("--coordinator-arg", flags.coordinator_args, "extra flag for the coordinator (repeatable)");
  app.add_option("--work-dir", flags.work_dir, "parent of the coordinator's data folder")->capture_default_str();
  app.add_option("--clients", config.clients, "concurrent clients (one thread each)")->capture_default_str()
      ->check(CLI::Range(1, 20000));
  app.add_option("--workers", config.workers, "simulated workers completing jobs")->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--channels", flags.channels, "gRPC connections shared by the clients")->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--seconds", flags.seconds, "measured duration")->capture_default_str()->check(CLI::Range(1.0, 3600.0));
  app.add_option("--max-watch-streams", flags.max_watch_streams, "coordinator limit")->capture_default_str();
  app.add_option("--max-watch-streams-per-peer", flags.max_watch_streams_per_peer, "coordinator limit")
      ->capture_default_str();
  app.add_option("--max-inflight-submits", flags.max_inflight_submits, "coordinator limit")->capture_default_str();
  app.add_option("--retry-after", flags.retry_after, "coordinator retry hint (s)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return nmoe::bench::Run(flags, config);
}
