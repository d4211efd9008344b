// Security end to end (docs/security.md): the real nmoe-coordinator serving
// mutual TLS with role tokens, an nmoe-worker that registers and runs a job
// over mTLS with its worker token, nmoectl submitting with the admin token and
// refused with the worker one, provoked authentication failures, and then no
// token and no private-key bytes in any log, in /metrics or in the job's events.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/client.h"
#include "tests/coordinator/test_pki.h"
#include "tests/support/files.h"
#include "tests/support/http_get.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_e2e.h"

namespace nmoe::testing {
namespace {

using ::testing::HasSubstr;

// Distinctive, so that a hit can only be a leak.
constexpr char kAdminToken[] = "ADMINsecretQ7mZp4xV2kLw9";
constexpr char kWorkerToken[] = "WORKERsecretH3nB8cT6rYe1";
constexpr char kWrongToken[] = "WRONGsecretJ5dF2gK8sAq0";

// The base64 lines of a PEM file (its secret body, without the BEGIN/END lines).
std::vector<std::string> PemBodyLines(const std::string& path) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(ReadPemFile(path), '\n', absl::SkipEmpty())) {
    if (line.find("-----") == absl::string_view::npos && line.size() >= 16) lines.emplace_back(line);
  }
  return lines;
}

class SecurityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = MakeTestPki(dir_.path().string());
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    std::ofstream(dir_.file("tokens")) << "admin " << kAdminToken << "\nworker " << kWorkerToken << "\n";
    std::ofstream(dir_.file("wrong-token")) << "worker " << kWrongToken << "\n";
  }

  std::vector<std::string> TlsClientFlags() const {
    return {"--ca", pki_.ca, "--tls-cert", pki_.client_cert, "--tls-key", pki_.client_key};
  }

  // nmoectl with the client certificate; returns the exit code, output in `log`.
  int Nmoectl(std::vector<std::string> args, const std::string& log) {
    std::vector<std::string> argv = {BuildPath("cli/nmoectl"), "--address", address_};
    for (const auto& f : TlsClientFlags()) argv.push_back(f);
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::Start(argv, dir_.file(log));
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return -1;
    auto code = child->Wait(absl::Seconds(60));
    EXPECT_TRUE(code.ok()) << code.status();
    return code.ok() ? *code : -1;
  }

  TempDir dir_;
  TestPki pki_;
  std::string address_;
};

TEST_F(SecurityE2eTest, WorkerRunsAJobOverMutualTlsAndNoSecretLeaks) {
  auto coordinator = ChildProcess::Start(
      {BuildPath("coordinator/nmoe-coordinator"), "--data-dir", dir_.file("db"), "--listen", "127.0.0.1:0",
       "--port-file", dir_.file("port"), "--metrics-listen", "127.0.0.1:0", "--token-file", dir_.file("tokens"),
       "--tls-cert", pki_.server_cert, "--tls-key", pki_.server_key, "--tls-client-ca", pki_.ca,
       "--heartbeat-interval", "0.2", "--log-level", "debug"},
      dir_.file("coordinator.log"));
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  auto ports = WaitForFileLines(dir_.file("port"), 2, absl::Seconds(30));
  ASSERT_TRUE(ports.ok()) << ports.status() << "\n" << ReadWholeFile(dir_.file("coordinator.log"));
  address_ = absl::StrCat("localhost:", (*ports)[0]);
  const int metrics_port = std::stoi((*ports)[1]);

  const auto worker_argv = [&](const std::string& name, const std::string& token_file) {
    std::vector<std::string> argv = {BuildPath("worker/nmoe-worker"), "--coordinator", address_, "--token-file",
                                     token_file, "--threads", "1", "--work-dir", dir_.path().string(), "--name",
                                     name, "--report-interval", "0.2", "--log-level", "debug"};
    for (const auto& f : TlsClientFlags()) argv.push_back(f);
    return argv;
  };
  // A worker with an unknown token: refused (UNAUTHENTICATED), over and over.
  auto intruder = ChildProcess::Start(worker_argv("intruder", dir_.file("wrong-token")), dir_.file("intruder.log"));
  ASSERT_TRUE(intruder.ok()) << intruder.status();
  // The worker takes the "worker" line of the shared token file.
  auto worker = ChildProcess::Start(worker_argv("w1", dir_.file("tokens")), dir_.file("w1.log"));
  ASSERT_TRUE(worker.ok()) << worker.status();

  // nmoectl: the worker token may not submit; the admin token (the file's first line) may.
  PretrainJobOptions job;
  job.steps = 2;
  std::ofstream(dir_.file("job.yaml")) << PretrainJobYaml(job);
  EXPECT_NE(Nmoectl({"--token", kWorkerToken, "submit", "-f", dir_.file("job.yaml")}, "denied.log"), 0);
  const std::string denied = ReadWholeFile(dir_.file("denied.log"));
  EXPECT_THAT(denied, HasSubstr("role 'worker' may not call nmoe.v1.JobService.SubmitJob"));
  EXPECT_NE(Nmoectl({"--token", kWrongToken, "list"}, "wrong.log"), 0);
  ASSERT_EQ(Nmoectl({"--token-file", dir_.file("tokens"), "-o", "json", "submit", "-f", dir_.file("job.yaml")},
                    "submit.log"),
            0)
      << ReadWholeFile(dir_.file("submit.log"));

  cli::ConnectionOptions options;
  options.address = address_;
  options.token = kAdminToken;
  options.tls = true;
  options.ca_pem = ReadPemFile(pki_.ca);
  options.cert_pem = ReadPemFile(pki_.client_cert);
  options.key_pem = ReadPemFile(pki_.client_key);
  auto client = cli::Client::Create(options);
  auto jobs = client->Call(client->jobs(), &v1::JobService::Stub::ListJobs, v1::ListJobsRequest());
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->jobs_size(), 1);
  const std::string id = jobs->jobs(0).id();
  v1::GetJobRequest get;
  get.set_job_id(id);
  v1::Job last;
  const absl::Time deadline = absl::Now() + absl::Seconds(240);
  while (absl::Now() < deadline) {
    auto got = client->Call(client->jobs(), &v1::JobService::Stub::GetJob, get);
    if (got.ok()) last = *got;
    if (last.state() == v1::JOB_STATE_SUCCEEDED || last.state() == v1::JOB_STATE_FAILED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(last.state(), v1::JOB_STATE_SUCCEEDED) << last.ShortDebugString() << "\n"
                                                   << ReadWholeFile(dir_.file("w1.log"));

  // Everything a secret could leak into.
  std::string events;
  v1::ListJobEventsRequest list;
  list.set_job_id(id);
  list.set_page_size(1000);
  auto page = client->Call(client->jobs(), &v1::JobService::Stub::ListJobEvents, list);
  ASSERT_TRUE(page.ok()) << page.status();
  for (const auto& e : page->events()) events += e.DebugString();
  auto metrics = HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  // The refused calls are counted, by method and code only.
  EXPECT_THAT(*metrics, HasSubstr("method=\"SubmitJob\""));
  EXPECT_THAT(*metrics, HasSubstr("code=\"PERMISSION_DENIED\""));
  EXPECT_THAT(*metrics, HasSubstr("code=\"UNAUTHENTICATED\""));
  worker->Kill(SIGTERM);
  intruder->Kill(SIGTERM);
  EXPECT_TRUE(worker->Wait(absl::Seconds(30)).ok());
  EXPECT_TRUE(intruder->Wait(absl::Seconds(30)).ok());
  coordinator->Kill(SIGTERM);
  EXPECT_TRUE(coordinator->Wait(absl::Seconds(30)).ok());

  const std::string intruder_log = ReadWholeFile(dir_.file("intruder.log"));
  EXPECT_THAT(intruder_log, HasSubstr("UNAUTHENTICATED"));  // the failure was provoked and logged
  const std::vector<std::pair<std::string, std::string>> places = {
      {"coordinator.log", ReadWholeFile(dir_.file("coordinator.log"))},
      {"w1.log", ReadWholeFile(dir_.file("w1.log"))},
      {"intruder.log", intruder_log},
      {"nmoectl output", denied + ReadWholeFile(dir_.file("wrong.log")) + ReadWholeFile(dir_.file("submit.log"))},
      {"/metrics", *metrics},
      {"job events", events}};
  std::vector<std::string> secrets = {kAdminToken, kWorkerToken, kWrongToken};
  for (const auto& key : {pki_.server_key, pki_.client_key}) {
    for (auto& line : PemBodyLines(key)) secrets.push_back(line);
  }
  ASSERT_GE(secrets.size(), 5u);
  for (const auto& [where, text] : places) {
    EXPECT_FALSE(text.empty()) << where;
    for (const auto& secret : secrets) EXPECT_THAT(text, ::testing::Not(HasSubstr(secret))) << where;
  }
}

}  // namespace
}  // namespace nmoe::testing
