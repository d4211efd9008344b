// Durability under repeated kill -9 (issue 9). Four submitter clients submit
// (and cancel some of) jobs as fast as they can while a worker client
// registers, heartbeats, leases, reports, completes and fails tasks, all
// against the real nmoe-coordinator on one RocksDB folder. The daemon is
// SIGKILLed at a random moment (one kill in five lands during start-up and
// recovery), then: the database opens; every job whose submission was
// acknowledged is stored with its spec and key; no idempotency key names two
// jobs; every event log is dense and made of allowed transitions; no
// acknowledged state change is undone; every acknowledged worker is stored;
// and the restarted daemon serves exactly the stored jobs.
//
// NMOE_DURABILITY_KILLS (default 8) sets the number of kills;
// NMOE_DURABILITY_SEED replays a run's kill schedule and client choices.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"
#include "storage/rocksdb_store.h"
#include "tests/coordinator/durability_ledger.h"
#include "tests/coordinator/grpc_test_client.h"
#include "tests/coordinator/test_specs.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::Ctx;
using ::nmoe::testing::DurabilityLedger;
using ::nmoe::testing::LedgerCounts;

constexpr char kAdmin[] = "loop-admin";
constexpr char kSubmitter[] = "loop-submitter";
constexpr char kWorker[] = "loop-worker";
constexpr int kSubmitters = 4;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

uint64_t Seed() {
  const char* v = std::getenv("NMOE_DURABILITY_SEED");
  return v && *v ? std::strtoull(v, nullptr, 10) : std::random_device{}();
}

// One round's clients against the daemon on `port`, from construction to Stop().
class Clients {
 public:
  Clients(int port, DurabilityLedger& ledger, uint64_t seed, int round)
      : channel_(::nmoe::testing::LocalChannel(port)), ledger_(ledger), round_(round) {
    for (int c = 0; c < kSubmitters; ++c) threads_.emplace_back([this, c, seed] { Submitter(c, seed + c); });
    threads_.emplace_back([this, seed] { Worker(seed + kSubmitters); });
  }
  ~Clients() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  int in_flight() const { return in_flight_; }
  std::map<int, int64_t> failure_codes() {
    std::lock_guard lock(mu_);
    return failure_codes_;
  }

 private:
  // Runs `call`; counts it in flight and records a failure's code.
  template <typename Call>
  bool Ok(Call&& call) {
    ++in_flight_;
    const grpc::Status s = call();
    --in_flight_;
    if (!s.ok()) {
      ledger_.Count(&LedgerCounts::failed_calls);
      std::lock_guard lock(mu_);
      ++failure_codes_[s.error_code()];
    }
    return s.ok();
  }

  void Submitter(int client, uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto stub = v1::JobService::NewStub(channel_);
    for (int n = 0; !stop_;) {
      DurabilityLedger::Submission sub;
      // Now and then a client retries a submission whose answer it never got.
      if (rng() % 8 != 0 || !ledger_.TakeUnknown(rng(), &sub)) {
        sub.key = absl::StrCat("r", round_, "-c", client, "-", n++);
        sub.spec = ::nmoe::testing::ProfileSpec(1, sub.key);
      }
      v1::SubmitJobResponse response;
      if (!Ok([&] {
            return stub->SubmitJob(Ctx(kSubmitter).get(), ::nmoe::testing::SubmitRequest(sub.spec, sub.key), &response);
          })) {
        ledger_.AddUnknown(std::move(sub));
        continue;
      }
      const std::string id = response.job().id();
      ledger_.AckJob(id, sub, response.created());
      ledger_.AckState(id, {response.job().state()});
      if (rng() % 4 != 0) continue;
      v1::CancelJobRequest cancel;
      cancel.set_job_id(id);
      v1::Job job;
      if (Ok([&] { return stub->CancelJob(Ctx(kSubmitter).get(), cancel, &job); })) {
        ledger_.Count(&LedgerCounts::cancels);
        ledger_.AckState(id, {job.state()});
      }
    }
  }

  void Worker(uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto stub = v1::WorkerService::NewStub(channel_);
    std::string worker_id;
    while (!stop_ && worker_id.empty()) {
      v1::RegisterWorkerRequest request;
      request.mutable_capabilities()->set_hostname(absl::StrCat("durability-loop-", round_));
      v1::RegisterWorkerResponse response;
      if (Ok([&] { return stub->RegisterWorker(Ctx(kWorker).get(), request, &response); })) {
        worker_id = response.worker_id();
        ledger_.AckWorker(worker_id);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    std::string task_id, job_id;
    while (!stop_) {
      v1::HeartbeatRequest beat;
      beat.set_worker_id(worker_id);
      if (!task_id.empty()) beat.add_task_ids(task_id);
      v1::HeartbeatResponse beat_response;
      if (Ok([&] { return stub->Heartbeat(Ctx(kWorker).get(), beat, &beat_response); })) {
        ledger_.Count(&LedgerCounts::heartbeats);
        // A revoked task (its job was cancelled) stops: the next heartbeat gives it up.
        for (const auto& revoked : beat_response.revoked_task_ids()) {
          if (revoked == task_id) task_id.clear();
        }
      }
      if (task_id.empty()) {
        v1::LeaseTaskRequest lease;
        lease.set_worker_id(worker_id);
        v1::LeaseTaskResponse leased;
        if (Ok([&] { return stub->LeaseTask(Ctx(kWorker).get(), lease, &leased); }) && leased.has_task()) {
          task_id = leased.task().id();
          job_id = leased.task().job_id();
          ledger_.Count(&LedgerCounts::leases);
          ledger_.AckState(job_id, {v1::JOB_STATE_RUNNING});  // a gang of one runs once leased
          // Progress and logs are written unsynced: they exercise the dense event log.
          v1::ReportProgressRequest report;
          report.set_worker_id(worker_id);
          report.set_task_id(task_id);
          report.mutable_progress()->set_stage("durability");
          report.mutable_progress()->set_done(1);
          report.add_logs()->set_text("halfway");
          v1::ReportProgressResponse ignored;
          Ok([&] { return stub->ReportProgress(Ctx(kWorker).get(), report, &ignored); });
        }
        continue;
      }
      grpc::Status done;
      bool ok = false;
      std::set<v1::JobState> after;
      if (rng() % 5 == 0) {
        v1::FailTaskRequest fail;
        fail.set_worker_id(worker_id);
        fail.set_task_id(task_id);
        fail.set_reason("DURABILITY_TEST");
        fail.set_retryable(true);
        v1::FailTaskResponse ignored;
        ok = Ok([&] { return done = stub->FailTask(Ctx(kWorker).get(), fail, &ignored); });
        after = {v1::JOB_STATE_RETRYING, v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED};
      } else {
        v1::CompleteTaskRequest complete;
        complete.set_worker_id(worker_id);
        complete.set_task_id(task_id);
        v1::CompleteTaskResponse ignored;
        ok = Ok([&] { return done = stub->CompleteTask(Ctx(kWorker).get(), complete, &ignored); });
        after = {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_CANCELLED};  // cancelled meanwhile: the slot is released
        if (ok) ledger_.Count(&LedgerCounts::completions);
      }
      if (ok) ledger_.AckState(job_id, after);
      // Done, or refused for good (the lease is gone): either way the worker is free.
      if (ok || done.error_code() == grpc::StatusCode::FAILED_PRECONDITION) task_id.clear();
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  DurabilityLedger& ledger_;
  const int round_;
  std::atomic<bool> stop_{false};
  std::atomic<int> in_flight_{0};
  std::mutex mu_;
  std::map<int, int64_t> failure_codes_;
  std::vector<std::thread> threads_;
};

class DurabilityLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.file("tokens")) << "admin " << kAdmin << "\nsubmitter " << kSubmitter << "\nworker " << kWorker
                                       << "\n";
  }

  std::string LogFile(int round) { return dir_.file(absl::StrCat("coordinator-", round, ".log")); }
  std::string Log(int round) {
    std::ifstream in(LogFile(round));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  absl::StatusOr<::nmoe::testing::ChildProcess> Start(int round) {
    std::filesystem::remove(dir_.file("port"));
    return ::nmoe::testing::ChildProcess::Start(
        {::nmoe::testing::BuildPath("coordinator/nmoe-coordinator"), "--data-dir", dir_.file("db"), "--listen",
         "127.0.0.1:0", "--port-file", dir_.file("port"), "--token-file", dir_.file("tokens"), "--lease-ttl", "3",
         "--heartbeat-interval", "1"},
        LogFile(round));
  }

  absl::StatusOr<int> WaitPort() {
    auto lines = ::nmoe::testing::WaitForFileLines(dir_.file("port"), 1, absl::Seconds(30));
    if (!lines.ok()) return lines.status();
    return std::stoi((*lines)[0]);
  }

  // Every job id the daemon lists, through all pages.
  static std::set<std::string> ListedIds(int port) {
    auto stub = v1::JobService::NewStub(::nmoe::testing::LocalChannel(port));
    std::set<std::string> ids;
    v1::ListJobsRequest request;
    request.set_page_size(1000);
    do {
      v1::ListJobsResponse page;
      const grpc::Status s = stub->ListJobs(Ctx(kAdmin).get(), request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& job : page.jobs()) ids.insert(job.id());
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return ids;
  }

  ::nmoe::testing::TempDir dir_;
};

TEST_F(DurabilityLoopTest, AcknowledgedWritesSurviveRepeatedKillNine) {
  const int kills = EnvInt("NMOE_DURABILITY_KILLS", 8);
  const uint64_t seed = Seed();
  std::printf("durability loop: seed %llu (NMOE_DURABILITY_SEED=%llu replays the schedule), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  std::mt19937_64 rng(seed);
  DurabilityLedger ledger;
  std::set<std::string> stored_ids;  // what the store held after the last kill
  std::map<int, int64_t> failure_codes;
  int early_kills = 0, busy_kills = 0;
  int64_t in_flight_at_kills = 0;
  const auto started = absl::Now();
  for (int round = 0; round < kills; ++round) {
    const bool early = std::uniform_int_distribution<int>(0, 4)(rng) == 0;
    const int delay_ms = early ? std::uniform_int_distribution<int>(0, 150)(rng)
                               : std::uniform_int_distribution<int>(20, 700)(rng);
    auto child = Start(round);
    ASSERT_TRUE(child.ok()) << child.status();
    if (early) {
      // Mid start-up: RocksDB recovery, column families, the listener.
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      child->Kill(SIGKILL);
      ++early_kills;
    } else {
      auto port = WaitPort();
      ASSERT_TRUE(port.ok()) << "round " << round << ": " << port.status() << "\n" << Log(round);
      if (round > 0) {
        ASSERT_EQ(ListedIds(*port), stored_ids) << "round " << round << ": the daemon lists other jobs than stored";
      }
      Clients clients(*port, ledger, seed + 101 * round, round);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      const int in_flight = clients.in_flight();
      child->Kill(SIGKILL);
      clients.Stop();
      in_flight_at_kills += in_flight;
      busy_kills += in_flight > 0;
      for (const auto& [code, n] : clients.failure_codes()) failure_codes[code] += n;
    }
    auto code = child->Wait(absl::Seconds(10));
    ASSERT_TRUE(code.ok()) << code.status();
    ASSERT_EQ(*code, 128 + SIGKILL) << Log(round);
    // The database opens and holds everything acknowledged so far.
    auto store = storage::RocksDbStore::Open(dir_.file("db"));
    ASSERT_TRUE(store.ok()) << "round " << round << ", seed " << seed << ": " << store.status();
    const std::vector<std::string> problems = ledger.CheckStore(**store, &stored_ids);
    ASSERT_TRUE((*store)->Close().ok());
    ASSERT_THAT(problems, ::testing::IsEmpty()) << "round " << round << ", seed " << seed;
  }
  // A last start: the daemon recovers the final state and shuts down cleanly.
  auto child = Start(kills);
  ASSERT_TRUE(child.ok()) << child.status();
  auto port = WaitPort();
  ASSERT_TRUE(port.ok()) << port.status() << "\n" << Log(kills);
  EXPECT_EQ(ListedIds(*port), stored_ids);
  child->Kill(SIGTERM);
  EXPECT_EQ(*child->Wait(absl::Seconds(20)), 0) << Log(kills);

  const LedgerCounts n = ledger.counts();
  std::string codes;
  for (const auto& [code, count] : failure_codes) absl::StrAppend(&codes, " code ", code, ": ", count, ";");
  std::printf(
      "durability loop: %d kills injected (%d during start-up, %d with calls in flight, %lld calls in flight in all) "
      "in %.1f s\n"
      "  acknowledged: %lld submissions (+%lld found stored on retry after an unknown outcome), %lld cancels, "
      "%lld leases, %lld completions, %lld worker registrations, %lld heartbeats\n"
      "  failed calls (coordinator down or killed): %lld;%s\n"
      "  after the last kill: %zu jobs stored, %zu of %zu acknowledged jobs present, 0 lost\n",
      kills, early_kills, busy_kills, static_cast<long long>(in_flight_at_kills),
      absl::ToDoubleSeconds(absl::Now() - started), static_cast<long long>(n.submits),
      static_cast<long long>(n.found_unacked), static_cast<long long>(n.cancels), static_cast<long long>(n.leases),
      static_cast<long long>(n.completions), static_cast<long long>(n.registrations),
      static_cast<long long>(n.heartbeats), static_cast<long long>(n.failed_calls), codes.c_str(), stored_ids.size(),
      ledger.acknowledged_jobs(), ledger.acknowledged_jobs());
  EXPECT_GT(n.submits, 0);
}

}  // namespace
}  // namespace nmoe::coordinator
