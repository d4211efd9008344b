// local up | down | status: the embedded default. `up` starts a coordinator
// on a local data folder and N CPU workers (the machine's cores split between
// them) as detached daemons and records them in <dir>/local.json; `down`
// stops them (SIGTERM, SIGKILL after --grace); `status` says what runs.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/local_processes.h"
#include "cli/local_state.h"
#include "common/token_file.h"

namespace nmoe::cli {
namespace {
namespace fs = std::filesystem;

struct LocalFlags {
  std::string dir = ".nmoe";
  int workers = 2;
  std::string bin_dir;
  std::string work_dir;  // empty = dir
  std::string timeout = "60s";
  std::string grace = "30s";
};

std::string StatePath(const fs::path& dir) { return (dir / "local.json").string(); }

std::string EnvLine(const LocalState& s) {
  return fmt::format("export NMOE_ADDRESS={} NMOE_TOKEN_FILE={}", s.address, s.token_file);
}

// A 0600 token file (common/token_file.h), unless it exists: an admin token
// for nmoectl (the first line, which clients take) and a worker token for the
// local workers (nmoe-worker takes the first "worker" line). docs/security.md.
absl::Status EnsureToken(const fs::path& path) {
  if (fs::exists(path)) return absl::OkStatus();
  std::random_device random;
  constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const auto new_token = [&] {
    std::string token;
    for (int i = 0; i < 32; ++i) token += kAlphabet[random() % (sizeof(kAlphabet) - 1)];
    return token;
  };
  const mode_t old_mask = umask(077);
  std::ofstream out(path);
  out << "# nmoectl local up: '<role> <token>' a line (docs/security.md)\n"
      << "admin " << new_token() << "\n"
      << "worker " << new_token() << "\n";
  out.close();
  umask(old_mask);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

// Polls `ready` every 100 ms until it is true, `process` exited, or `timeout`.
absl::Status WaitFor(const std::function<bool()>& ready, const LocalProcess& process,
                     absl::Duration timeout, const std::string& what) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!ready()) {
    if (ChildExited(process.pid)) {
      return absl::FailedPreconditionError(
          fmt::format("{} exited before {}; see {}", process.name, what, process.log));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(fmt::format("{} not {} after {}; see {}", process.name, what,
                                                     absl::FormatDuration(timeout), process.log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::OkStatus();
}

// The bound gRPC and metrics ports from the coordinator's --port-file.
bool ReadPorts(const fs::path& path, int* port, int* metrics_port) {
  std::ifstream in(path);
  std::string a, b;
  return std::getline(in, a) && std::getline(in, b) && absl::SimpleAtoi(a, port) &&
         absl::SimpleAtoi(b, metrics_port) && *port > 0;
}

// Workers of `names` that are registered and idle or busy.
int RegisteredWorkers(Client& client, const std::vector<LocalProcess>& workers) {
  absl::StatusOr<nmoe::v1::ListWorkersResponse> response =
      client.Call(client.workers(), &nmoe::v1::WorkerService::Stub::ListWorkers, nmoe::v1::ListWorkersRequest());
  if (!response.ok()) return 0;
  int count = 0;
  for (const LocalProcess& p : workers) {
    for (const nmoe::v1::Worker& w : response->workers()) {
      const auto& labels = w.capabilities().labels();
      const auto name = labels.find("name");
      if (name != labels.end() && name->second == p.name &&
          (w.state() == nmoe::v1::WORKER_STATE_IDLE || w.state() == nmoe::v1::WORKER_STATE_BUSY)) {
        ++count;
        break;
      }
    }
  }
  return count;
}

std::string Summary(const LocalState& s) {
  std::string text = fmt::format(
      "coordinator: {} (pid {}, metrics http://127.0.0.1:{}/metrics, data {}, log {})\n", s.address,
      s.coordinator.pid, s.metrics_port, s.data_dir, s.coordinator.log);
  for (const LocalProcess& w : s.worker_processes) {
    text += fmt::format("worker {}: pid {}, {} threads, log {}\n", w.name, w.pid, s.threads_per_worker, w.log);
  }
  return text + EnvLine(s) + "\n";
}

nlohmann::ordered_json Document(const LocalState& s, const std::string& state_file) {
  nlohmann::ordered_json doc = {{"address", s.address},       {"token_file", s.token_file},
                                {"metrics_port", s.metrics_port}, {"state_file", state_file},
                                {"coordinator_pid", s.coordinator.pid}};
  doc["worker_pids"] = nlohmann::ordered_json::array();
  for (const LocalProcess& w : s.worker_processes) doc["worker_pids"].push_back(w.pid);
  return doc;
}

// Stops whatever `state` names and removes the state file.
void StopAll(const LocalState& state, const std::string& state_file, absl::Duration grace, std::ostream& err) {
  for (const std::string& name : StopProcesses(state.StopOrder(), grace)) {
    err << fmt::format("note: {} did not stop within {}; killed\n", name, absl::FormatDuration(grace));
  }
  std::error_code ec;
  fs::remove(state_file, ec);
}

absl::StatusOr<int> RunUp(Session& session, const LocalFlags& flags) {
  if (flags.workers < 1) return UsageError("--workers must be at least 1");
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(flags.timeout);
  if (!timeout.ok()) return timeout.status();
  const fs::path dir = fs::absolute(flags.dir);
  const std::string state_file = StatePath(dir);
  absl::StatusOr<std::optional<LocalState>> previous = ReadLocalState(state_file);
  if (!previous.ok()) return previous.status();
  if (previous->has_value()) {
    const LocalState& old = **previous;
    bool all_running = IsRunning(old.coordinator);
    for (const LocalProcess& w : old.worker_processes) all_running = all_running && IsRunning(w);
    if (all_running) {
      if (old.workers != flags.workers) {
        return UsageError(fmt::format("{} already runs a coordinator with {} workers; `nmoectl local down --dir {}` first",
                                      dir.string(), old.workers, flags.dir));
      }
      session.err() << "already running (" << state_file << ")\n";
      if (absl::Status s = session.PrintDocument(Document(old, state_file), Summary(old)); !s.ok()) return s;
      return 0;
    }
    session.err() << "note: some processes of " << state_file << " are gone; restarting all\n";
    StopAll(old, state_file, absl::Seconds(10), session.err());
  }

  const std::string coordinator_bin = FindDaemon(flags.bin_dir, "coordinator/nmoe-coordinator");
  const std::string worker_bin = FindDaemon(flags.bin_dir, "worker/nmoe-worker");
  if (coordinator_bin.empty() || worker_bin.empty()) {
    return UsageError(fmt::format("cannot find {}; build it or pass --bin-dir",
                                  coordinator_bin.empty() ? "nmoe-coordinator" : "nmoe-worker"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return UsageError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  LocalState state;
  state.token_file = (dir / "token").string();
  if (absl::Status s = EnsureToken(state.token_file); !s.ok()) return s;
  state.data_dir = (dir / "db").string();
  state.work_dir = fs::absolute(flags.work_dir.empty() ? flags.dir : flags.work_dir).string();
  state.workers = flags.workers;
  state.threads_per_worker = std::max(1, UsableCores() / flags.workers);

  const fs::path port_file = dir / "port";
  fs::remove(port_file, ec);
  state.coordinator = {"coordinator", -1, coordinator_bin, (dir / "coordinator.log").string()};
  absl::StatusOr<pid_t> pid = StartDetached(
      {coordinator_bin, "--data-dir", state.data_dir, "--listen", "127.0.0.1:0", "--port-file",
       port_file.string(), "--metrics-listen", "127.0.0.1:0", "--token-file", state.token_file},
      state.coordinator.log);
  if (!pid.ok()) return pid.status();
  state.coordinator.pid = *pid;
  int port = 0;
  absl::Status started = WaitFor([&] { return ReadPorts(port_file, &port, &state.metrics_port); },
                                 state.coordinator, *timeout, "serving");
  if (started.ok()) {
    state.address = fmt::format("127.0.0.1:{}", port);
    for (int i = 1; i <= flags.workers && started.ok(); ++i) {
      LocalProcess worker{fmt::format("cpu-{}", i), -1, worker_bin, (dir / fmt::format("worker-{}.log", i)).string()};
      pid = StartDetached({worker_bin, "--coordinator", state.address, "--token-file", state.token_file,
                           "--threads", std::to_string(state.threads_per_worker), "--workers-per-host",
                           std::to_string(flags.workers), "--work-dir", state.work_dir, "--name", worker.name,
                           "--advertise-host", "127.0.0.1", "--metrics-port", "0"},
                          worker.log);
      if (!pid.ok()) {
        started = pid.status();
        break;
      }
      worker.pid = *pid;
      state.worker_processes.push_back(worker);
    }
  }
  // Recorded before the wait, so `local down` can stop a half-started set.
  if (absl::Status s = WriteLocalState(state_file, state); !s.ok() && started.ok()) started = s;
  if (started.ok()) {
    ConnectionOptions connection;
    connection.address = state.address;
    absl::StatusOr<std::vector<TokenEntry>> tokens = ReadTokenEntries(state.token_file);
    if (tokens.ok()) {
      connection.token = PickToken(*tokens, std::nullopt).token;
    } else {
      started = tokens.status();
    }
    connection.timeout = absl::Seconds(5);
    std::unique_ptr<Client> client = Client::Create(connection);
    const absl::Time deadline = absl::Now() + *timeout;
    while (started.ok() && RegisteredWorkers(*client, state.worker_processes) < flags.workers) {
      for (const LocalProcess& w : state.worker_processes) {
        if (ChildExited(w.pid)) {
          started = absl::FailedPreconditionError(fmt::format("worker {} exited before registering; see {}", w.name, w.log));
        }
      }
      if (started.ok() && absl::Now() >= deadline) {
        started = absl::DeadlineExceededError(fmt::format(
            "the workers did not all register within {}; see {}/worker-*.log and {}", absl::FormatDuration(*timeout),
            dir.string(), state.coordinator.log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (!started.ok()) {
    StopAll(state, state_file, absl::Seconds(10), session.err());
    return absl::FailedPreconditionError(std::string(started.message()));
  }
  if (absl::Status s = session.PrintDocument(Document(state, state_file), Summary(state)); !s.ok()) return s;
  return 0;
}

absl::StatusOr<int> RunDown(Session& session, const LocalFlags& flags) {
  absl::StatusOr<absl::Duration> grace = ParseTimeout(flags.grace);
  if (!grace.ok()) return grace.status();
  const std::string state_file = StatePath(fs::absolute(flags.dir));
  absl::StatusOr<std::optional<LocalState>> state = ReadLocalState(state_file);
  if (!state.ok()) return state.status();
  if (!state->has_value()) {
    session.out() << "nothing runs (no " << state_file << ")\n";
    return 0;
  }
  int running = 0;
  for (const LocalProcess& p : (*state)->StopOrder()) running += IsRunning(p) ? 1 : 0;
  StopAll(**state, state_file, *grace, session.err());
  session.out() << fmt::format("stopped {} process(es); data stays in {}\n", running, (*state)->data_dir);
  return 0;
}

absl::StatusOr<int> RunStatus(Session& session, const LocalFlags& flags) {
  const std::string state_file = StatePath(fs::absolute(flags.dir));
  absl::StatusOr<std::optional<LocalState>> state = ReadLocalState(state_file);
  if (!state.ok()) return state.status();
  if (!state->has_value()) {
    if (absl::Status s = session.PrintDocument({{"running", false}}, "nothing runs\n"); !s.ok()) return s;
    return kExitFailed;
  }
  const LocalState& s = **state;
  std::string text;
  nlohmann::ordered_json doc = Document(s, state_file);
  int running = 0;
  doc["processes"] = nlohmann::ordered_json::array();
  for (const LocalProcess& p : s.StopOrder()) {
    const bool up = IsRunning(p);
    running += up ? 1 : 0;
    text += fmt::format("{:<12} pid {:<8} {:<8} log {}\n", p.name, p.pid, up ? "running" : "gone", p.log);
    doc["processes"].push_back({{"name", p.name}, {"pid", p.pid}, {"running", up}});
  }
  const bool all = running == static_cast<int>(s.StopOrder().size());
  doc["running"] = all;
  text += EnvLine(s) + "\n";
  if (absl::Status st = session.PrintDocument(doc, text); !st.ok()) return st;
  return all ? kExitOk : kExitFailed;
}

}  // namespace

void AddLocalCommands(CLI::App& root, CommandTable& table) {
  CLI::App* local = root.add_subcommand("local", "Run a coordinator and CPU workers on this machine");
  local->require_subcommand(1);
  auto flags = std::make_shared<LocalFlags>();
  auto add_dir = [&](CLI::App* cmd) {
    cmd->add_option("--dir", flags->dir, "State and data folder (coordinator DB in <dir>/db, logs, token)")
        ->capture_default_str();
  };
  CLI::App* up = local->add_subcommand("up", "Start a coordinator and --workers CPU workers (idempotent)");
  add_dir(up);
  up->add_option("--workers", flags->workers, "Worker processes; the usable cores are split between them")
      ->capture_default_str();
  up->add_option("--bin-dir", flags->bin_dir,
                 "Where nmoe-coordinator and nmoe-worker are (default: next to nmoectl's build tree, else PATH)");
  up->add_option("--work-dir", flags->work_dir, "Workers' --work-dir: relative paths of jobs resolve here (default: --dir)");
  up->add_option("--wait", flags->timeout, "How long to wait for the coordinator and the workers")->capture_default_str();
  table.Add(up, [flags](Session& session) { return RunUp(session, *flags); });
  CLI::App* down = local->add_subcommand("down", "Stop what `local up` started (SIGTERM, SIGKILL after --grace)");
  add_dir(down);
  down->add_option("--grace", flags->grace, "Time to finish before SIGKILL")->capture_default_str();
  table.Add(down, [flags](Session& session) { return RunDown(session, *flags); });
  CLI::App* status = local->add_subcommand("status", "What `local up` started and whether it runs (exit 1 if not)");
  add_dir(status);
  table.Add(status, [flags](Session& session) { return RunStatus(session, *flags); });
}

}  // namespace nmoe::cli
