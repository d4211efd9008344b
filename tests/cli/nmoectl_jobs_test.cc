// nmoectl command lines: health, jobs, submit, usage errors, events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/cli/nmoectl_fixture.h"

namespace nmoe::cli::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST_F(NmoectlTest, HealthServingAndNotServing) {
  Result r = Run({"health"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = Run({"health", "--service", "no.such.Service"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));

  // A coordinator shutting down reports NOT_SERVING, then wakes every watch
  // subscriber before it stops taking calls. This subscriber holds it there
  // until nmoectl has checked.
  std::promise<void> draining, checked;
  std::shared_future<void> checked_future = checked.get_future().share();
  const uint64_t handle =
      control().event_hub().Subscribe("health-probe", [&draining, checked_future] {
        draining.set_value();
        checked_future.wait();
      });
  std::thread stopper([this] { server_->Shutdown(); });
  EXPECT_EQ(draining.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  r = Run({"health", "-o", "json"});
  checked.set_value();
  stopper.join();
  control().event_hub().Unsubscribe(handle);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "NOT_SERVING");
  // Stopped: nothing answers.
  r = Run({"health"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE: "));
}

TEST_F(NmoectlTest, GetPrintsTableAndJson) {
  const std::string id = Submit();
  clock_.Advance(absl::Seconds(85));
  RegisterAndLease();  // pending -> scheduled -> running
  clock_.Advance(absl::Seconds(5));
  Result r = Run({"get", id});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string pad(id.size() - 2, ' ');  // the ID column is as wide as the id
  EXPECT_EQ(r.out, "ID" + pad + "   KIND      STATE     NAME   AGE     UPDATED   PROGRESS\n" + id +
                       "   profile   running   -      1m30s   5s        -\n");
  r = Run({"get", id, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json job = nlohmann::json::parse(r.out);
  EXPECT_EQ(job["id"], id);
  EXPECT_EQ(job["state"], "JOB_STATE_RUNNING");
  r = Run({"get", id, "-o", "yaml"});
  EXPECT_THAT(r.out, HasSubstr("state: JOB_STATE_RUNNING\n"));
}

TEST_F(NmoectlTest, RpcErrorsExitFourWithCodeAndMessage) {
  Result r = Run({"get", "job-404"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: NOT_FOUND: job job-404 not found\n");
}

TEST_F(NmoectlTest, BearerTokenFromFlagOrEnvironment) {
  const std::string id = Submit();
  tokens_ = {"s3cret"};
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  Result r = Run({"get", id});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "error: UNAUTHENTICATED: missing bearer token (metadata 'authorization: Bearer "
            "<token>')\n");
  r = Run({"get", id, "--token", "s3cret"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(id + "   profile   pending"));
  EXPECT_EQ(Run({"get", id}, {{"NMOE_TOKEN", "s3cret"}}).code, 0);
  // The flag wins over the environment.
  r = Run({"get", id, "--token", "wrong"}, {{"NMOE_TOKEN", "s3cret"}});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "error: UNAUTHENTICATED: invalid bearer token\n");
  EXPECT_EQ(Run({"get", id, "--token", "s3cret"}, {{"NMOE_TOKEN", "wrong"}}).code, 0);
}

TEST_F(NmoectlTest, DeadlineFromTimeout) {
  SilentListener silent;
  const auto start = std::chrono::steady_clock::now();
  Result r = RunAt(silent.address(), {"get", "job-1", "--timeout", "100ms"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: DEADLINE_EXCEEDED: "));
  // --timeout 100ms, not the 5 s given before it, bounded the call.
  EXPECT_GE(elapsed, std::chrono::milliseconds(100));
  EXPECT_LT(elapsed, std::chrono::seconds(4));
}

TEST_F(NmoectlTest, SubmitFromFileWithOverridesAndIdempotency) {
  const std::string file = WriteFile("job.yaml",
                                     "name: from-file\n"
                                     "labels: {a: '1'}\n"
                                     "profile:\n"
                                     "  model: {path: models/base}\n"
                                     "  corpora:\n"
                                     "    - {language: en, paths: [data/en.txt]}\n"
                                     "    - {language: el, paths: [data/el.txt]}\n"
                                     "  top_n: 10\n");
  std::vector<std::string> submit = {"submit", "-f", file, "--name", "renamed", "--workers", "3"};
  submit.insert(submit.end(), {"--label", "b=2", "--idempotency-key", "k1"});
  Result r = Run(submit);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_THAT(r.out, StartsWith("job-"));
  const std::string id = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_EQ(r.err, "");
  absl::StatusOr<v1::Job> stored = control().GetJob(id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->idempotency_key(), "k1");
  EXPECT_EQ(stored->spec().name(), "renamed");
  EXPECT_EQ(stored->spec().resources().num_workers(), 3u);
  EXPECT_EQ(stored->spec().labels().at("a"), "1");
  EXPECT_EQ(stored->spec().labels().at("b"), "2");
  EXPECT_EQ(stored->spec().profile().top_n(), 10u);
  EXPECT_EQ(stored->spec().profile().corpora(1).language(), "el");

  r = Run(submit);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_THAT(r.err, HasSubstr("existing job"));
  std::vector<std::string> as_json = submit;
  as_json.insert(as_json.end(), {"-o", "json"});
  r = Run(as_json);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json response = nlohmann::json::parse(r.out);
  EXPECT_EQ(response["job"]["id"], id);
  EXPECT_FALSE(response.contains("created"));  // false is a default: omitted
  // The same key with another spec: the server refuses.
  r = Run({"submit", "-f", file, "--idempotency-key", "k1"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err,
              StartsWith("error: INVALID_ARGUMENT: idempotency_key: already used by job " + id));
  r = Run({"submit", "-f", file, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  response = nlohmann::json::parse(r.out);
  EXPECT_EQ(response["created"], true);
  EXPECT_NE(response["job"]["id"], id);
  EXPECT_EQ(control().ListJobs({})->jobs_size(), 2);
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
  EXPECT_EQ(control().ListJobs({})->jobs_size(), 0);
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
  // More jobs than the server's largest page (1000), so --all takes two.
  constexpr int kJobs = 1100;
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < kJobs; ++i) ids.push_back(Submit());
  RegisterAndLease();  // leases the oldest job (queued first come, first served)
  const std::string running = ids[0];
  const std::string cancelled = ids[8];
  ASSERT_TRUE(control().CancelJob(cancelled, "").ok());

  Result r = Run({"list", "--limit", "120", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json page = nlohmann::json::parse(r.out);
  ASSERT_EQ(page["jobs"].size(), 120u);
  EXPECT_EQ(page["jobs"][0]["id"], ids[kJobs - 1]);  // newest first
  EXPECT_EQ(page["next_page_token"], ids[kJobs - 120]);

  r = Run({"list", "--all", "--state", "running,pending", "--kind", "profile"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), kJobs);  // header + all but one
  EXPECT_THAT(r.out, HasSubstr(running + "   profile   running"));
  EXPECT_THAT(r.out, Not(HasSubstr(cancelled)));
  EXPECT_EQ(r.err, "");
  r = Run({"list", "--all", "--state", "running", "-o", "json"});
  page = nlohmann::json::parse(r.out);
  ASSERT_EQ(page["jobs"].size(), 1u);
  EXPECT_EQ(page["jobs"][0]["id"], running);
  r = Run({"list", "--kind", "train"});
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1);  // only the header

  r = Run({"list"});  // default limit 100, with a hint on stderr
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 101);
  EXPECT_THAT(r.err, HasSubstr("--all"));
}

TEST_F(NmoectlTest, CancelSendsReason) {
  const std::string id = Submit();
  RegisterAndLease();
  Result r = Run({"cancel", id, "--reason", "wrong corpus"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cancelling"));
  absl::StatusOr<v1::Job> job = control().GetJob(id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), v1::JOB_STATE_CANCELLING);
  EXPECT_EQ(job->last_transition().reason(), "CANCEL_REQUESTED");
  EXPECT_EQ(job->last_transition().message(), "wrong corpus");
}

TEST_F(NmoectlTest, EventsAndDescribe) {
  Lease lease;
  const std::string id = RunJobTo(v1::JOB_STATE_SUCCEEDED, &lease);
  Result r = Run({"events", id, "--from-seq", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("SEQ   TIME                   TYPE       DETAIL\n"
                                "2     2023-11-14T22:13:21Z   state      pending -> scheduled: "
                                "LEASED (attempt 1) gang forming: rank 0 leased\n"
                                "3     2023-11-14T22:13:21Z   state      scheduled -> running: "
                                "GANG_READY (attempt 1) all 1 rank(s) leased\n"));
  EXPECT_THAT(r.out, HasSubstr("log        info [" + lease.worker_id + "] hooks attached\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("SUBMITTED")));
  r = Run({"events", id, "--limit", "2", "-o", "json"});
  nlohmann::json events = nlohmann::json::parse(r.out);
  EXPECT_EQ(events["events"].size(), 2u);
  EXPECT_EQ(events["next_seq"], "3");
  r = Run({"describe", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("State:           succeeded\n"));
  EXPECT_THAT(r.out, HasSubstr("Transitions:\nSEQ   TIME"));
  EXPECT_THAT(r.out, HasSubstr("running       succeeded   COMPLETED"));
  EXPECT_THAT(r.out, HasSubstr("\nSpec:\n"));
  r = Run({"describe", id, "-o", "json"});
  nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["job"]["id"], id);
  EXPECT_EQ(doc["transitions"].size(), 4u);  // pending, scheduled, running, succeeded
}

}  // namespace
}  // namespace nmoe::cli::testing
