// nmoectl command lines: health, jobs, submit, usage errors, events.
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

TEST_F(NmoectlTest, HealthServingAndNotServing) {
  Result r = Run({"health"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  server_.SetServing(false);
  r = Run({"health", "-o", "json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "NOT_SERVING");
  r = Run({"health", "--service", "no.such.Service"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
}

TEST_F(NmoectlTest, GetPrintsTableAndJson) {
  AddJob("job-1", v1::JOB_STATE_RUNNING);
  Result r = Run({"get", "job-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID      KIND      STATE     NAME   AGE     UPDATED   PROGRESS\n"
            "job-1   profile   running   -      1m30s   5s        -\n");
  r = Run({"get", "job-1", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json job = nlohmann::json::parse(r.out);
  EXPECT_EQ(job["id"], "job-1");
  EXPECT_EQ(job["state"], "JOB_STATE_RUNNING");
  r = Run({"get", "job-1", "-o", "yaml"});
  EXPECT_THAT(r.out, HasSubstr("state: JOB_STATE_RUNNING\n"));
}

TEST_F(NmoectlTest, RpcErrorsExitFourWithCodeAndMessage) {
  Result r = Run({"get", "job-404"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: NOT_FOUND: job job-404 not found\n");
}

TEST_F(NmoectlTest, BearerTokenFromFlagOrEnvironment) {
  AddJob("job-1", v1::JOB_STATE_RUNNING);
  server_.state().required_token = "s3cret";
  Result r = Run({"get", "job-1"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "error: UNAUTHENTICATED: missing bearer token\n");
  EXPECT_EQ(Run({"get", "job-1", "--token", "s3cret"}).code, 0);
  EXPECT_EQ(Run({"get", "job-1"}, {{"NMOE_TOKEN", "s3cret"}}).code, 0);
  EXPECT_EQ(Run({"get", "job-1", "--token", "wrong"}, {{"NMOE_TOKEN", "s3cret"}}).code, 4);
  EXPECT_EQ(server_.state().authorization_seen.back(), "Bearer wrong");
}

TEST_F(NmoectlTest, DeadlineFromTimeout) {
  AddJob("job-1", v1::JOB_STATE_RUNNING);
  server_.state().get_job_delay_ms = 1000;
  Result r = Run({"get", "job-1", "--timeout", "100ms"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: DEADLINE_EXCEEDED: "));
}

TEST_F(NmoectlTest, SubmitFromFileWithOverridesAndIdempotency) {
  const std::string file =
      WriteFile("job.yaml", "name: from-file\nlabels: {a: '1'}\nprofile:\n  top_n: 10\n");
  Result r = Run({"submit", "-f", file, "--name", "renamed", "--workers", "3", "--label", "b=2",
                  "--idempotency-key", "k1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "job-1\n");
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(server_.state().submits.size(), 1u);
  const v1::SubmitJobRequest& sent = server_.state().submits[0];
  EXPECT_EQ(sent.idempotency_key(), "k1");
  EXPECT_EQ(sent.spec().name(), "renamed");
  EXPECT_EQ(sent.spec().resources().num_workers(), 3u);
  EXPECT_EQ(sent.spec().labels().at("a"), "1");
  EXPECT_EQ(sent.spec().labels().at("b"), "2");
  EXPECT_EQ(sent.spec().profile().top_n(), 10u);

  r = Run({"submit", "-f", file, "--idempotency-key", "k1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "job-1\n");
  EXPECT_THAT(r.err, HasSubstr("existing job"));
  r = Run({"submit", "-f", file, "--idempotency-key", "k1", "-o", "json"});
  nlohmann::json response = nlohmann::json::parse(r.out);
  EXPECT_EQ(response["job"]["id"], "job-1");
  EXPECT_FALSE(response.contains("created"));  // false is a default: omitted
  r = Run({"submit", "-f", file, "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["created"], true);
}

TEST_F(NmoectlTest, SubmitUsageErrorsExitTwoWithoutCallingTheServer) {
  const std::string bad = WriteFile("bad.yaml", "name: x\nprofile:\n  top_nn: 3\n");
  Result r = Run({"submit", "-f", bad});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "error: " + bad + ":3:3: profile.top_nn: unknown field of nmoe.v1.ProfileSpec\n");
  EXPECT_EQ(Run({"submit", "-f", "/nonexistent.yaml"}).code, 2);
  EXPECT_EQ(Run({"submit", "--name", "no-kind"}).code, 2);
  EXPECT_EQ(Run({"submit", "-f", bad, "--label", "novalue"}).code, 2);
  EXPECT_EQ(Run({"submit", "--workers", "0"}).code, 2);
  EXPECT_TRUE(server_.state().submits.empty());
}

TEST_F(NmoectlTest, UsageErrorsAndHelp) {
  EXPECT_EQ(Run({}).code, 2);
  EXPECT_EQ(Run({"frobnicate"}).code, 2);
  EXPECT_EQ(Run({"get"}).code, 2);
  EXPECT_EQ(Run({"list", "--state", "sleeping"}).code, 2);
  EXPECT_EQ(Run({"get", "job-1", "-o", "xml"}).code, 2);
  EXPECT_EQ(Run({"describe", "job-1", "-o", "csv"}).code, 2);
  Result help = Run({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes:"));
  EXPECT_THAT(help.out, HasSubstr("3  the watched job ended CANCELLED"));
}

TEST_F(NmoectlTest, ListFollowsPagesUpToLimitAndFilters) {
  for (int i = 0; i < 250; ++i) AddJob("job-" + std::to_string(i), v1::JOB_STATE_RUNNING);
  Result r = Run({"list", "--limit", "120", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json page = nlohmann::json::parse(r.out);
  EXPECT_EQ(page["jobs"].size(), 120u);
  EXPECT_EQ(page["next_page_token"], "120");
  r = Run({"list", "--all", "--state", "running,pending", "--kind", "profile"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 251);  // header + 250
  const v1::ListJobsRequest& last = server_.state().list_requests.back();
  EXPECT_THAT(last.states(), ElementsAre(v1::JOB_STATE_RUNNING, v1::JOB_STATE_PENDING));
  EXPECT_THAT(last.kinds(), ElementsAre(v1::JOB_KIND_PROFILE));
  r = Run({"list"});  // default limit 100, with a hint on stderr
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 101);
  EXPECT_THAT(r.err, HasSubstr("--all"));
}

TEST_F(NmoectlTest, CancelSendsReason) {
  AddJob("job-1", v1::JOB_STATE_RUNNING);
  Result r = Run({"cancel", "job-1", "--reason", "wrong corpus"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cancelling"));
  EXPECT_EQ(server_.state().cancels.at(0).reason(), "wrong corpus");
}

TEST_F(NmoectlTest, EventsAndDescribe) {
  AddJob("job-1", v1::JOB_STATE_SUCCEEDED);
  AddEvents("job-1", v1::JOB_STATE_SUCCEEDED);
  Result r = Run({"events", "job-1", "--from-seq", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out,
              StartsWith("SEQ   TIME                   TYPE       DETAIL\n"
                         "2     2023-11-14T22:12:22Z   state      pending -> running: LEASED"));
  EXPECT_THAT(r.out, HasSubstr("log        info [w-1] hooks attached\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("SUBMITTED")));
  r = Run({"events", "job-1", "--limit", "2", "-o", "json"});
  nlohmann::json events = nlohmann::json::parse(r.out);
  EXPECT_EQ(events["events"].size(), 2u);
  EXPECT_EQ(events["next_seq"], "3");
  r = Run({"describe", "job-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("State:           succeeded\n"));
  EXPECT_THAT(r.out, HasSubstr("Transitions:\nSEQ   TIME"));
  EXPECT_THAT(r.out, HasSubstr("running       succeeded   COMPLETED"));
  EXPECT_THAT(r.out, HasSubstr("\nSpec:\n"));
  r = Run({"describe", "job-1", "-o", "json"});
  nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["job"]["id"], "job-1");
  EXPECT_EQ(doc["transitions"].size(), 3u);
}

}  // namespace
}  // namespace nmoe::cli::testing
