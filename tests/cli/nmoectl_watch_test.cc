// nmoectl watch and submit --watch: output, exit codes, resuming after UNAVAILABLE.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/nmoectl_fixture.h"

namespace nmoe::cli::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST_F(NmoectlTest, WatchPrintsEventsAndExitsWithTheJobsOutcome) {
  const std::pair<v1::JobState, int> cases[] = {
      {v1::JOB_STATE_SUCCEEDED, 0}, {v1::JOB_STATE_FAILED, 1}, {v1::JOB_STATE_CANCELLED, 3}};
  for (const auto& [state, code] : cases) {
    const std::string id = "job-" + std::to_string(code);
    AddJob(id, state);
    AddEvents(id, state);
    Result r = Run({"watch", id});
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_THAT(r.out, HasSubstr("state pending -> running: LEASED (attempt 1)\n"));
    EXPECT_THAT(r.out, HasSubstr("log info [w-1] hooks attached\n"));
    // Progress goes to stderr (a plain line: stderr is not a terminal here).
    EXPECT_THAT(r.err, HasSubstr("progress profile 50/100 sentences (50.0%) 10.0/s ETA 5s\n"));
    EXPECT_THAT(r.out, Not(HasSubstr("progress")));
  }
}

TEST_F(NmoectlTest, WatchResumesAfterUnavailableFromTheLastSeenSeq) {
  AddJob("job-1", v1::JOB_STATE_SUCCEEDED);
  AddEvents("job-1", v1::JOB_STATE_SUCCEEDED);
  server_.state().watch_breaks = 2;
  server_.state().watch_break_after = 2;
  Result r = Run({"watch", "job-1", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<uint64_t> from;
  for (const v1::WatchJobRequest& w : server_.state().watches) from.push_back(w.from_seq());
  EXPECT_THAT(from, ElementsAre(1, 3, 5));
  EXPECT_TRUE(server_.state().watches[0].include_progress());
  std::istringstream lines(r.out);
  std::vector<std::string> seqs;
  for (std::string line; std::getline(lines, line);) {
    seqs.push_back(nlohmann::json::parse(line)["seq"]);  // each event exactly once
  }
  EXPECT_THAT(seqs, ElementsAre("1", "2", "3", "4", "5"));
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(250), absl::Milliseconds(250)));
  EXPECT_THAT(r.err, HasSubstr("stream broken (UNAVAILABLE: coordinator restarting); "
                               "resuming from event 3 in 250ms"));
}

TEST_F(NmoectlTest, WatchDrawsAProgressBarOnATerminal) {
  AddJob("job-1", v1::JOB_STATE_SUCCEEDED);
  AddEvents("job-1", v1::JOB_STATE_SUCCEEDED);
  err_is_terminal_ = true;
  Result r = Run({"watch", "job-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  // Drawn in place, erased before the next stdout line, redrawn, erased at the end.
  const std::string bar =
      "\rprofile [==========>         ] 50/100 sentences 50% 10.0/s ETA 5s\x1b[K";
  EXPECT_EQ(r.err, bar + "\r\x1b[K" + bar + "\r\x1b[K" + bar + "\r\x1b[K");
  EXPECT_THAT(r.out, HasSubstr("hooks attached"));
}

// A coordinator shutting down cancels the streams it has not drained.
TEST_F(NmoectlTest, WatchResumesAfterServerSideCancel) {
  AddJob("job-1", v1::JOB_STATE_CANCELLED);
  AddEvents("job-1", v1::JOB_STATE_CANCELLED);
  server_.state().watch_breaks = 1;
  server_.state().watch_break_after = 4;
  server_.state().watch_break_code = grpc::StatusCode::CANCELLED;
  Result r = Run({"watch", "job-1"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(server_.state().watches.back().from_seq(), 5u);
}

TEST_F(NmoectlTest, WatchDoesNotRetryOtherErrors) {
  AddJob("job-1", v1::JOB_STATE_RUNNING);
  AddEvents("job-1", v1::JOB_STATE_SUCCEEDED);
  server_.state().watch_breaks = 1;
  server_.state().watch_break_after = 1;
  server_.state().watch_break_code = grpc::StatusCode::INTERNAL;
  Result r = Run({"watch", "job-1"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("error: INTERNAL: coordinator restarting\n"));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(NmoectlTest, WatchGivesUpAfterReconnectTimeout) {
  AddJob("job-1", v1::JOB_STATE_RUNNING);
  server_.state().watch_breaks = 1000;
  server_.state().watch_break_after = 0;
  Result r = Run({"watch", "job-1", "--reconnect-timeout", "3s"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("error: UNAVAILABLE: coordinator restarting\n"));
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

TEST_F(NmoectlTest, SubmitWatch) {
  server_.state().events["job-1"] = {};
  const std::string file = WriteFile("w.yaml", "name: w\nprofile: {top_n: 1}\n");
  // The fake's new job has no events: add a terminal one before watching.
  v1::JobEvent e;
  e.set_job_id("job-1");
  e.set_seq(1);
  e.mutable_state_change()->set_to(v1::JOB_STATE_FAILED);
  server_.state().events["job-1"].push_back(e);
  Result r = Run({"submit", "-f", file, "--watch"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.out, StartsWith("job-1\n"));
  EXPECT_THAT(r.out, HasSubstr("-> failed"));
}

}  // namespace
}  // namespace nmoe::cli::testing
