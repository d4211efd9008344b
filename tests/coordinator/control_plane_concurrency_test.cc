// ControlPlane from many threads at once, as the gRPC handlers call it:
// submitters (submit, cancel, get, list, events), workers (register, heartbeat,
// lease, progress, complete, fail), a ticker and a watcher. Afterwards the
// store holds every acknowledged job and state change, with dense event logs of
// allowed transitions (the durability loop's checks). Under ThreadSanitizer
// (scripts/tsan.sh) this is the coordinator's state machine's race test.
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "coordinator/control_plane.h"
#include "storage/memory_store.h"
#include "tests/coordinator/durability_ledger.h"
#include "tests/coordinator/test_specs.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::DurabilityLedger;

constexpr int kSubmitters = 3;
constexpr int kWorkers = 3;
constexpr int kSubmitsEach = 150;

TEST(ControlPlaneConcurrencyTest, ConcurrentCallsKeepEveryAcknowledgedChange) {
  storage::MemoryStore store;
  FakeClock clock;
  auto cp = ControlPlane::Recover(&store, &clock, ControlPlaneOptions(), nullptr);
  ASSERT_TRUE(cp.ok()) << cp.status();
  ControlPlane& plane = **cp;
  DurabilityLedger ledger;
  std::atomic<int> submitters_left{kSubmitters};
  std::atomic<int64_t> notifications{0};
  std::vector<std::thread> threads;

  for (int c = 0; c < kSubmitters; ++c) {
    threads.emplace_back([&, c] {
      [&] {
        for (int n = 0; n < kSubmitsEach; ++n) {
          DurabilityLedger::Submission sub{absl::StrCat("c", c, "-", n), ::nmoe::testing::ProfileSpec(1)};
          sub.spec.set_name(sub.key);
          auto r = plane.SubmitJob(::nmoe::testing::SubmitRequest(sub.spec, sub.key));
          ASSERT_TRUE(r.ok()) << r.status();
          const std::string id = r->job().id();
          ledger.AckJob(id, sub, r->created());
          if (n % 3 == 0) {
            auto cancelled = plane.CancelJob(id, "");
            // A worker may have finished it first.
            ASSERT_TRUE(cancelled.ok() || cancelled.status().code() == absl::StatusCode::kFailedPrecondition)
                << cancelled.status();
            if (cancelled.ok()) ledger.AckState(id, {cancelled->state()});
          }
          ASSERT_TRUE(plane.GetJob(id).ok());
          if (n % 10 == 0) {
            v1::ListJobsRequest list;
            list.set_page_size(50);
            ASSERT_TRUE(plane.ListJobs(list).ok());
            v1::ListJobEventsRequest events;
            events.set_job_id(id);
            ASSERT_TRUE(plane.ListJobEvents(events).ok());
          }
        }
      }();
      --submitters_left;  // also after a failed ASSERT, so the other threads end
    });
  }
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      v1::RegisterWorkerRequest reg;
      reg.mutable_capabilities()->set_hostname(absl::StrCat("w", w));
      auto registered = plane.RegisterWorker(reg);
      ASSERT_TRUE(registered.ok()) << registered.status();
      const std::string worker = registered->worker_id();
      ledger.AckWorker(worker);
      std::string task, job;
      for (int i = 0; submitters_left > 0 || i < 50; ++i) {
        v1::HeartbeatRequest beat;
        beat.set_worker_id(worker);
        if (!task.empty()) beat.add_task_ids(task);
        auto beaten = plane.Heartbeat(beat);
        ASSERT_TRUE(beaten.ok()) << beaten.status();
        for (const auto& revoked : beaten->revoked_task_ids()) {
          if (revoked == task) task.clear();
        }
        if (task.empty()) {
          v1::LeaseTaskRequest lease;
          lease.set_worker_id(worker);
          auto leased = plane.LeaseTask(lease);
          ASSERT_TRUE(leased.ok()) << leased.status();
          if (!leased->has_task()) continue;
          task = leased->task().id();
          job = leased->task().job_id();
          ledger.AckState(job, {v1::JOB_STATE_RUNNING});
          v1::ReportProgressRequest report;
          report.set_worker_id(worker);
          report.set_task_id(task);
          report.add_logs()->set_text("working");
          ASSERT_TRUE(plane.ReportProgress(report).ok());
          continue;
        }
        absl::Status done;
        std::set<v1::JobState> after;
        if (i % 4 == 0) {
          v1::FailTaskRequest fail;
          fail.set_worker_id(worker);
          fail.set_task_id(task);
          fail.set_reason("CONCURRENCY_TEST");
          fail.set_retryable(true);
          done = plane.FailTask(fail);
          after = {v1::JOB_STATE_RETRYING, v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED};
        } else {
          v1::CompleteTaskRequest complete;
          complete.set_worker_id(worker);
          complete.set_task_id(task);
          done = plane.CompleteTask(complete);
          after = {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_CANCELLED};
        }
        // A cancel may have revoked the task between the heartbeat and now.
        if (done.ok()) ledger.AckState(job, after);
        ASSERT_TRUE(done.ok() || done.code() == absl::StatusCode::kFailedPrecondition) << done;
        task.clear();
      }
    });
  }
  threads.emplace_back([&] {
    while (submitters_left > 0) {
      plane.Tick();
      plane.ListWorkers();
      std::this_thread::yield();
    }
  });
  threads.emplace_back([&] {
    // Watchers come and go on every job a submitter just created.
    while (submitters_left > 0) {
      v1::ListJobsRequest list;
      list.set_page_size(5);
      auto jobs = plane.ListJobs(list);
      ASSERT_TRUE(jobs.ok());
      std::vector<uint64_t> handles;
      for (const auto& j : jobs->jobs()) {
        handles.push_back(plane.event_hub().Subscribe(j.id(), [&] { ++notifications; }));
      }
      std::this_thread::yield();
      for (uint64_t h : handles) plane.event_hub().Unsubscribe(h);
    }
  });
  for (auto& t : threads) t.join();

  std::set<std::string> stored;
  EXPECT_THAT(ledger.CheckStore(store, &stored), ::testing::IsEmpty());
  EXPECT_EQ(stored.size(), static_cast<size_t>(kSubmitters * kSubmitsEach));
  EXPECT_GT(ledger.counts().submits, 0);
}

}  // namespace
}  // namespace nmoe::coordinator
