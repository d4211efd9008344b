// The fixture of nmoectl's command-line tests: whole command lines run
// in-process (RunNmoectl) against a real in-process coordinator
// (CoordinatorServer on 127.0.0.1 over a RocksDB in a TempDir). The server
// and nmoectl share one FakeClock; nmoectl's reconnect sleeps only advance it.
// State is planted through the coordinator's own APIs: its control plane
// (jobs, a worker that leases, reports and ends tasks) and its results store.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <semaphore>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/app.h"
#include "common/clock.h"
#include "coordinator/server.h"
#include "tests/coordinator/test_specs.h"
#include "tests/support/temp_dir.h"

namespace nmoe::cli::testing {

namespace v1 = nmoe::v1;
using ::nmoe::coordinator::ControlPlane;
using ::nmoe::coordinator::CoordinatorServer;
using ::nmoe::testing::ProfileSpec;
using ::nmoe::testing::SubmitRequest;

inline constexpr int64_t kNow = 1'700'000'000;  // FakeClock's start: 2023-11-14T22:13:20Z

struct Result {
  int code;
  std::string out;
  std::string err;
};

// A task a registered worker holds.
struct Lease {
  std::string worker_id;
  std::string task_id;
};

// A TCP port whose kernel backlog takes connections that nobody ever
// accepts or answers: calls to it can only end by their deadline.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class NmoectlTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  // Starts a coordinator on the fixture's data dir: on a free port the first
  // time, on the same port after that (a restart). Auth: `tokens_`, or none.
  void StartServer() {
    nmoe::coordinator::ServerConfig config;
    config.data_dir = dir_.file("db");
    config.listen = "127.0.0.1:" + std::to_string(port_);
    config.tokens = tokens_;
    config.insecure_no_auth = tokens_.empty();
    config.limits = limits_;
    config.tick_interval = absl::ZeroDuration();  // no lease clock: tests drive time
    auto server = CoordinatorServer::Start(config, &clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->port();
  }

  // Shuts the coordinator down (open watches end with UNAVAILABLE) and starts
  // it again over the same data and port.
  void RestartServer() {
    server_->Shutdown();
    server_.reset();
    StartServer();
  }

  ControlPlane& control() { return server_->control_plane(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  Result Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return RunAt(address(), std::move(args), std::move(env));
  }

  Result RunAt(const std::string& address, std::vector<std::string> args,
               std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {"nmoectl", "--address", address, "--timeout", "5s"});
    std::ostringstream out, err;
    SessionIo io;
    io.out = &out;
    io.err = &err;
    io.env = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    io.err_is_terminal = err_is_terminal_;
    io.terminal_width = 100;
    io.clock = &clock_;
    io.sleep = [this](absl::Duration d) {
      sleeps_.push_back(d);
      clock_.Advance(d);
      ++sleeping_;
      if (gate_sleeps_) {
        EXPECT_TRUE(sleep_permits_.try_acquire_for(std::chrono::seconds(30)))
            << "nmoectl's reconnect sleep was never released";
      }
    };
    const int code = RunNmoectl(args, io);
    return {code, out.str(), err.str()};
  }

  // Runs nmoectl on its own thread, for commands that wait on the server.
  std::future<Result> RunAsync(std::vector<std::string> args,
                               std::map<std::string, std::string> env = {}) {
    return std::async(std::launch::async, [this, args = std::move(args), env = std::move(env)] {
      return Run(args, env);
    });
  }

  // Waits until the coordinator has `n` open watch streams.
  void WaitForWatchers(size_t n = 1) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (control().event_hub().subscriber_count() < n) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no watch reached the coordinator";
      std::this_thread::yield();
    }
  }

  // ---- state, through the coordinator's own control plane ----

  std::string Submit(const v1::JobSpec& spec = ProfileSpec(1, ""), const std::string& key = "") {
    absl::StatusOr<v1::SubmitJobResponse> r = control().SubmitJob(SubmitRequest(spec, key));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->job().id() : "";
  }

  // Registers a worker and leases it the next queued task.
  Lease RegisterAndLease(v1::DeviceKind device = v1::DEVICE_KIND_CPU, int device_index = 0,
                         const std::string& hostname = "cpu-1") {
    v1::RegisterWorkerRequest reg;
    reg.mutable_capabilities()->set_device(device);
    reg.mutable_capabilities()->set_device_index(device_index);
    reg.mutable_capabilities()->set_hostname(hostname);
    reg.mutable_capabilities()->set_threads(4);
    absl::StatusOr<v1::RegisterWorkerResponse> registered = control().RegisterWorker(reg);
    EXPECT_TRUE(registered.ok()) << registered.status();
    v1::LeaseTaskRequest lease;
    lease.set_worker_id(registered.ok() ? registered->worker_id() : "");
    absl::StatusOr<v1::LeaseTaskResponse> leased = control().LeaseTask(lease);
    EXPECT_TRUE(leased.ok()) << leased.status();
    EXPECT_TRUE(leased.ok() && leased->has_task()) << "no task to lease";
    return {lease.worker_id(), leased.ok() ? leased->task().id() : ""};
  }

  // Half the profile done (a progress event) and a log line.
  void ReportHalfway(const Lease& lease) {
    v1::ReportProgressRequest report;
    report.set_worker_id(lease.worker_id);
    report.set_task_id(lease.task_id);
    v1::Progress* p = report.mutable_progress();
    p->set_stage("profile");
    p->set_done(50);
    p->set_total(100);
    p->set_unit("sentences");
    p->set_rate_per_second(10);
    v1::LogLine* log = report.add_logs();
    log->set_level(v1::LOG_LEVEL_INFO);
    log->set_text("hooks attached");
    absl::StatusOr<v1::ReportProgressResponse> r = control().ReportProgress(report);
    EXPECT_TRUE(r.ok()) << r.status();
  }

  void Complete(const Lease& lease) {
    v1::CompleteTaskRequest complete;
    complete.set_worker_id(lease.worker_id);
    complete.set_task_id(lease.task_id);
    absl::Status s = control().CompleteTask(complete);
    EXPECT_TRUE(s.ok()) << s;
  }

  void FailForGood(const Lease& lease) {
    v1::FailTaskRequest fail;
    fail.set_worker_id(lease.worker_id);
    fail.set_task_id(lease.task_id);
    fail.set_reason("OUT_OF_MEMORY");
    fail.set_message("cannot allocate 2 GiB");
    fail.set_retryable(false);
    absl::Status s = control().FailTask(fail);
    EXPECT_TRUE(s.ok()) << s;
  }

  // Cancels the job, and the worker, told so, stops its task.
  void CancelAndStop(const std::string& job_id, const Lease& lease) {
    absl::StatusOr<v1::Job> cancelling = control().CancelJob(job_id, "operator stop");
    EXPECT_TRUE(cancelling.ok()) << cancelling.status();
    v1::HeartbeatRequest heartbeat;  // running nothing any more
    heartbeat.set_worker_id(lease.worker_id);
    absl::StatusOr<v1::HeartbeatResponse> r = control().Heartbeat(heartbeat);
    EXPECT_TRUE(r.ok()) << r.status();
  }

  // A profile job run by one worker to `end`, a second between steps. Events:
  // 1 pending, 2 scheduled, 3 running, 4 progress, 5 log, then the end (for
  // CANCELLED: 6 cancelling, 7 cancelled). Returns the job id; *lease gets the worker.
  std::string RunJobTo(v1::JobState end, Lease* lease = nullptr) {
    const std::string id = Submit();
    clock_.Advance(absl::Seconds(1));
    Lease held = RegisterAndLease();
    clock_.Advance(absl::Seconds(1));
    ReportHalfway(held);
    clock_.Advance(absl::Seconds(1));
    switch (end) {
      case v1::JOB_STATE_SUCCEEDED:
        Complete(held);
        break;
      case v1::JOB_STATE_FAILED:
        FailForGood(held);
        break;
      case v1::JOB_STATE_CANCELLED:
        CancelAndStop(id, held);
        break;
      default:
        ADD_FAILURE() << "not a terminal state: " << end;
    }
    if (lease != nullptr) *lease = held;
    return id;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }

  ::nmoe::testing::TempDir dir_;
  FakeClock clock_;
  std::vector<std::string> tokens_;  // the coordinator's bearer tokens; empty = no auth
  nmoe::coordinator::AdmissionLimits limits_;         // the coordinator's back-pressure bounds
  int port_ = 0;
  std::unique_ptr<CoordinatorServer> server_;
  std::vector<absl::Duration> sleeps_;
  bool err_is_terminal_ = false;  // pretend stderr is a terminal (progress bar)
  // While set, each reconnect sleep of nmoectl waits for a sleep_permits_.release().
  bool gate_sleeps_ = false;
  std::counting_semaphore<16> sleep_permits_{0};
  std::atomic<int> sleeping_{0};  // reconnect sleeps entered so far
};

}  // namespace nmoe::cli::testing
