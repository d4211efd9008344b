// The worker's parts in one process: retry delays, the task thread (exceptions
// become failures, the log buffer's cap, the stop flag) and --device parsing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include <chrono>
#include <thread>

#include "worker/backoff.h"
#include "worker/capabilities.h"
#include "worker/running_task.h"

namespace nmoe::worker {
namespace {

using ::testing::HasSubstr;

TEST(BackoffTest, GrowsToTheCapWithBoundedJitterAndResets) {
  BackoffOptions options;
  options.initial = absl::Milliseconds(100);
  options.max = absl::Seconds(1);
  options.jitter = 0.2;
  Backoff backoff(options, /*seed=*/42);
  const absl::Duration undithered[] = {absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(400),
                                       absl::Milliseconds(800), absl::Seconds(1), absl::Seconds(1)};
  for (absl::Duration base : undithered) {
    const absl::Duration d = backoff.Next();
    EXPECT_GE(d, base * 0.8);
    EXPECT_LE(d, base * 1.2);
  }
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Milliseconds(120));
  // Jitter: two seeds do not give the same sequence.
  Backoff a(options, 1), b(options, 2);
  bool differ = false;
  for (int i = 0; i < 5; ++i) differ = differ || a.Next() != b.Next();
  EXPECT_TRUE(differ);
}

// A task whose Run() is a function.
class FnTask final : public Task {
 public:
  explicit FnTask(std::function<absl::Status(TaskContext&)> fn) : fn_(std::move(fn)) {}
  absl::Status Run(TaskContext& ctx) override { return fn_(ctx); }

 private:
  std::function<absl::Status(TaskContext&)> fn_;
};

absl::Status RunToEnd(std::function<absl::Status(TaskContext&)> fn) {
  v1::Task task;
  task.set_id("job/a1/r0");
  RunningTask running(task, std::make_unique<FnTask>(std::move(fn)), "/tmp", nullptr, nullptr);
  while (!running.done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return running.status();
}

TEST(RunningTaskTest, ExceptionsBecomeFailuresNamingThem) {
  const absl::Status torch = RunToEnd([](TaskContext&) -> absl::Status {
    TORCH_CHECK(false, "shapes [2, 3] and [4, 5] cannot be multiplied");
    return absl::OkStatus();
  });
  EXPECT_EQ(torch.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(torch.message(), HasSubstr("exception: shapes [2, 3] and [4, 5] cannot be multiplied"));
  EXPECT_THAT(torch.message(), ::testing::Not(HasSubstr("Exception raised from")));  // no backtrace
  const absl::Status plain =
      RunToEnd([](TaskContext&) -> absl::Status { throw std::runtime_error("disk on fire"); });
  EXPECT_EQ(plain.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(plain.message(), HasSubstr("disk on fire"));
  EXPECT_EQ(RunToEnd([](TaskContext&) { return absl::NotFoundError("no such file: x"); }).code(),
            absl::StatusCode::kNotFound);
}

TEST(RunningTaskTest, BuffersTheLatestProgressAndCapsTheLog) {
  v1::Task task;
  task.set_id("job/a1/r0");
  task.set_job_id("job");
  std::atomic<bool> logged{false};
  int done_calls = 0;
  RunningTask running(
      task,
      std::make_unique<FnTask>([&](TaskContext& ctx) {
        EXPECT_EQ(ctx.task.job_id(), "job");
        EXPECT_EQ(ctx.Resolve("a/b").string(), "/work/dir/a/b");
        for (int i = 1; i <= 5; ++i) {
          v1::Progress p;
          p.set_done(i);
          ctx.report_progress(p);
          ctx.Info("line " + std::to_string(i));
        }
        logged.store(true);
        while (!ctx.StopRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return absl::CancelledError("stopped at step 5");
      }),
      "/work/dir", nullptr, [&] { ++done_calls; }, /*max_buffered_logs=*/3);
  while (!logged.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(running.HasPendingReport());
  RunningTask::Report report = running.Take(2);
  ASSERT_TRUE(report.progress.has_value());
  EXPECT_EQ(report.progress->done(), 5u);  // the latest only
  ASSERT_EQ(report.logs.size(), 2u);
  EXPECT_EQ(report.logs[0].text(), "line 3");  // lines 1-2 dropped by the cap of 3
  EXPECT_EQ(report.dropped_logs, 2u);
  report = running.Take(10);
  ASSERT_EQ(report.logs.size(), 1u);
  EXPECT_EQ(report.logs[0].text(), "line 5");
  EXPECT_EQ(report.dropped_logs, 0u);
  EXPECT_FALSE(report.progress.has_value());
  EXPECT_FALSE(running.HasPendingReport());
  EXPECT_FALSE(running.done());
  running.RequestStop();
  while (!running.done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(absl::IsCancelled(running.status()));
  EXPECT_EQ(done_calls, 1);
}

TEST(CapabilitiesTest, DeviceFlag) {
  auto cpu = ParseDevice("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->kind, v1::DEVICE_KIND_CPU);
  EXPECT_THAT(std::string(ParseDevice("tpu").status().message()), HasSubstr("not cpu or cuda:N"));
  EXPECT_THAT(std::string(ParseDevice("cuda:x").status().message()), HasSubstr("GPU index"));
#ifndef NMOE_WITH_CUDA
  EXPECT_THAT(std::string(ParseDevice("cuda:0").status().message()), HasSubstr("built without GPU support"));
#endif
  const v1::WorkerCapabilities caps = DetectCapabilities(*cpu, 3);
  EXPECT_EQ(caps.threads(), 3u);
  EXPECT_GT(caps.memory_bytes(), 1u << 20);
  EXPECT_FALSE(caps.hostname().empty());
  EXPECT_FALSE(caps.version().empty());
}

}  // namespace
}  // namespace nmoe::worker
