// nmoectl watch and submit --watch: output, exit codes, resuming across
// coordinator restarts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/watch.h"
#include "tests/cli/nmoectl_fixture.h"

namespace nmoe::cli::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> JsonSeqs(const std::string& out) {
  std::istringstream lines(out);
  std::vector<std::string> seqs;
  for (std::string line; std::getline(lines, line);) {
    seqs.push_back(nlohmann::json::parse(line)["seq"]);
  }
  return seqs;
}

TEST_F(NmoectlTest, WatchPrintsEventsAndExitsWithTheJobsOutcome) {
  const std::tuple<v1::JobState, int, std::string> cases[] = {
      {v1::JOB_STATE_SUCCEEDED, 0, "running -> succeeded: COMPLETED (attempt 1)"},
      {v1::JOB_STATE_FAILED, 1, "running -> failed: OUT_OF_MEMORY (attempt 1)"},
      {v1::JOB_STATE_CANCELLED, 3, "cancelling -> cancelled: CANCELLED (attempt 1)"}};
  for (const auto& [state, code, end] : cases) {
    Lease lease;
    const std::string id = RunJobTo(state, &lease);
    Result r = Run({"watch", id});
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_THAT(r.out, HasSubstr("state scheduled -> running: GANG_READY (attempt 1) all 1 rank(s) "
                                 "leased\n"));
    EXPECT_THAT(r.out, HasSubstr("log info [" + lease.worker_id + "] hooks attached\n"));
    EXPECT_THAT(r.out, HasSubstr(end));
    // Progress goes to stderr (a plain line: stderr is not a terminal here).
    EXPECT_THAT(r.err, HasSubstr("progress profile 50/100 sentences (50.0%) 10.0/s ETA 5s\n"));
    EXPECT_THAT(r.out, Not(HasSubstr("progress")));
  }
}

// The coordinator restarts twice while the job runs; each restart ends the
// stream with UNAVAILABLE and nmoectl resumes after the last event it saw.
TEST_F(NmoectlTest, WatchResumesAfterUnavailableFromTheLastSeenSeq) {
  const std::string id = Submit();
  const Lease lease = RegisterAndLease();  // events 1-3: pending, scheduled, running
  gate_sleeps_ = true;                     // nmoectl's backoff lasts until the restart is done
  std::future<Result> watch = RunAsync({"watch", id, "-o", "json"});
  ASSERT_NO_FATAL_FAILURE(WaitForWatchers());
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ReportHalfway(lease);  // events 4 (progress) and 5 (log), on the restarted coordinator
  sleep_permits_.release();
  ASSERT_NO_FATAL_FAILURE(WaitForWatchers());
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  Complete(lease);  // event 6
  sleep_permits_.release();
  Result r = watch.get();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(JsonSeqs(r.out), ElementsAre("1", "2", "3", "4", "5", "6"));  // each exactly once
  // Events arrived in between, so the second outage starts its backoff afresh.
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(250), absl::Milliseconds(250)));
  EXPECT_THAT(r.err, HasSubstr("stream broken (UNAVAILABLE: coordinator is shutting down; resume "
                               "the watch); resuming from event 4 in 250ms\n"));
  EXPECT_THAT(r.err, HasSubstr("resuming from event 6 in 250ms\n"));
}

TEST_F(NmoectlTest, WatchDrawsAProgressBarOnATerminal) {
  const std::string id = RunJobTo(v1::JOB_STATE_SUCCEEDED);
  err_is_terminal_ = true;
  Result r = Run({"watch", id});
  ASSERT_EQ(r.code, 0) << r.err;
  // Drawn in place, erased before the next stdout line, redrawn, erased at the end.
  const std::string bar =
      "\rprofile [==========>         ] 50/100 sentences 50% 10.0/s ETA 5s\x1b[K";
  EXPECT_EQ(r.err, bar + "\r\x1b[K" + bar + "\r\x1b[K" + bar + "\r\x1b[K");
  EXPECT_THAT(r.out, HasSubstr("hooks attached"));
}

// Open watches end UNAVAILABLE when the coordinator shuts down (above), but a
// watch that reaches it during its gRPC shutdown ends CANCELLED: a race no
// test can set up on demand, so the retry rule itself is checked here.
TEST(WatchRetryTest, UnavailableAndCancelledAreRetryableOthersAreNot) {
  EXPECT_TRUE(IsRetryableWatchError(absl::UnavailableError("restarting")));
  EXPECT_TRUE(IsRetryableWatchError(absl::CancelledError("server shutting down")));
  EXPECT_TRUE(IsRetryableWatchError(absl::ResourceExhaustedError("coordinator busy")));
  EXPECT_FALSE(IsRetryableWatchError(absl::InternalError("x")));
  EXPECT_FALSE(IsRetryableWatchError(absl::UnauthenticatedError("x")));
  EXPECT_FALSE(IsRetryableWatchError(absl::NotFoundError("x")));
  EXPECT_FALSE(IsRetryableWatchError(absl::DeadlineExceededError("x")));
  EXPECT_THAT((std::vector<absl::Duration>{ReconnectDelay(1), ReconnectDelay(2), ReconnectDelay(3),
                                           ReconnectDelay(6), ReconnectDelay(50)}),
              ElementsAre(absl::Milliseconds(250), absl::Milliseconds(500), absl::Seconds(1),
                          absl::Seconds(5), absl::Seconds(5)));
}

// The coordinator refuses a second watch stream (--max-watch-streams 1) with
// RESOURCE_EXHAUSTED and retry-after-ms; nmoectl waits the hinted time (longer
// than its own 250 ms) and gets in once the first watch has ended.
TEST_F(NmoectlTest, WatchRetriesARefusalAfterTheCoordinatorsHint) {
  limits_.max_watch_streams = 1;
  limits_.retry_after = absl::Milliseconds(1500);
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  const std::string id = Submit();
  const Lease lease = RegisterAndLease();
  gate_sleeps_ = true;
  std::future<Result> first = RunAsync({"watch", id, "-o", "json"});
  ASSERT_NO_FATAL_FAILURE(WaitForWatchers());
  std::future<Result> second = RunAsync({"watch", id, "-o", "json"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sleeping_.load() < 1) {  // refused, now waiting to retry
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the second watch was not refused";
    std::this_thread::yield();
  }
  Complete(lease);
  Result r = first.get();
  ASSERT_EQ(r.code, 0) << r.err;
  // The client is gone; the coordinator frees its stream slot when the call is done.
  while (server_->admission().open_watches() > 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the first watch's slot was never freed";
    std::this_thread::yield();
  }
  sleep_permits_.release();
  r = second.get();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(JsonSeqs(r.out), ElementsAre("1", "2", "3", "4"));  // pending .. succeeded, once each
  EXPECT_THAT(r.err, HasSubstr("stream broken (RESOURCE_EXHAUSTED: coordinator busy: 1 watch streams open "
                               "(limit 1, --max-watch-streams); retry in 1.5s); resuming from event 1 in 1.5s\n"));
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(1500)));
}

TEST(WatchRetryTest, RetryAfterHintReadsMillisecondsAndIgnoresNonsense) {
  using Trailers = std::multimap<grpc::string_ref, grpc::string_ref>;
  EXPECT_EQ(RetryAfterHint(Trailers{}), absl::ZeroDuration());
  EXPECT_EQ(RetryAfterHint(Trailers{{"retry-after-ms", "750"}}), absl::Milliseconds(750));
  EXPECT_EQ(RetryAfterHint(Trailers{{"retry-after-ms", "soon"}}), absl::ZeroDuration());
  EXPECT_EQ(RetryAfterHint(Trailers{{"retry-after-ms", "-5"}}), absl::ZeroDuration());
  EXPECT_EQ(RetryAfterHint(Trailers{{"retry-after-ms", "99999999999"}}), absl::Minutes(5));
}

TEST_F(NmoectlTest, WatchDoesNotRetryOtherErrors) {
  tokens_ = {"old-token"};
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  const std::string id = Submit();
  RegisterAndLease();
  Result r = Run({"watch", id, "--token", "wrong"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "error: UNAUTHENTICATED: invalid bearer token\n");
  EXPECT_TRUE(sleeps_.empty());

  // Mid-watch: the coordinator restarts with a rotated token. The outage is
  // retried; the refusal after it is not.
  gate_sleeps_ = true;
  std::future<Result> watch = RunAsync({"watch", id, "--token", "old-token"});
  ASSERT_NO_FATAL_FAILURE(WaitForWatchers());
  tokens_ = {"new-token"};
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  sleep_permits_.release();
  r = watch.get();
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.out, HasSubstr("scheduled -> running"));
  EXPECT_THAT(r.err, HasSubstr("resuming from event 4 in 250ms\n"
                               "error: UNAUTHENTICATED: invalid bearer token\n"));
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(250)));
}

TEST_F(NmoectlTest, WatchGivesUpAfterReconnectTimeout) {
  const std::string id = Submit();
  RegisterAndLease();
  gate_sleeps_ = true;  // no retry until the coordinator has stopped taking calls
  std::future<Result> watch = RunAsync({"watch", id, "--reconnect-timeout", "3s"});
  ASSERT_NO_FATAL_FAILURE(WaitForWatchers());
  server_->Shutdown();  // and it does not come back
  sleep_permits_.release(4);
  Result r = watch.get();
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.out, HasSubstr("scheduled -> running"));
  EXPECT_THAT(r.err, HasSubstr("stream broken (UNAVAILABLE: coordinator is shutting down; resume "
                               "the watch); resuming from event 4 in 250ms\n"));
  // Later attempts find nothing listening.
  EXPECT_THAT(r.err, HasSubstr("stream broken (UNAVAILABLE: failed to connect to all addresses"));
  EXPECT_THAT(r.err, HasSubstr("resuming from event 4 in 1.25s\n"
                               "error: UNAVAILABLE: failed to connect to all addresses"));
  // 250 + 500 + 1000 ms, then the last delay is cut to end at the 3 s budget.
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(250), absl::Milliseconds(500),
                                   absl::Seconds(1), absl::Milliseconds(1250)));
}

TEST_F(NmoectlTest, WatchOfUnknownJobFailsAtOnce) {
  Result r = Run({"watch", "job-404"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "error: NOT_FOUND: job job-404 not found\n");
  EXPECT_TRUE(sleeps_.empty());
}

// submit --watch follows the new job live, while a worker runs it and fails.
TEST_F(NmoectlTest, SubmitWatch) {
  const std::string file = WriteFile("w.yaml",
                                     "name: w\n"
                                     "profile:\n"
                                     "  model: {path: models/base}\n"
                                     "  corpora: [{language: en, paths: [a]}, "
                                     "{language: el, paths: [b]}]\n"
                                     "  top_n: 1\n");
  std::future<Result> watch = RunAsync({"submit", "-f", file, "--watch"});
  ASSERT_NO_FATAL_FAILURE(WaitForWatchers());
  const Lease lease = RegisterAndLease();
  ReportHalfway(lease);
  FailForGood(lease);
  Result r = watch.get();
  EXPECT_EQ(r.code, 1) << r.err;
  absl::StatusOr<v1::ListJobsResponse> jobs = control().ListJobs({});
  ASSERT_TRUE(jobs.ok() && jobs->jobs_size() == 1);
  EXPECT_THAT(r.out, StartsWith(jobs->jobs(0).id() + "\n"));
  EXPECT_THAT(r.out, HasSubstr("hooks attached"));
  EXPECT_THAT(r.out,
              HasSubstr("running -> failed: OUT_OF_MEMORY (attempt 1) worker " + lease.worker_id +
                        " on cpu-1: cannot allocate 2 GiB (not retryable)\n"));
}

}  // namespace
}  // namespace nmoe::cli::testing
