// The coordinator's gRPC surface against a real in-process server on
// 127.0.0.1 (port 0) over a real RocksDB in a temp dir.
#include "coordinator/server.h"

#include <cstdlib>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nmoe/v1/info_service.grpc.pb.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"
#include "tests/coordinator/grpc_test_client.h"
#include "tests/coordinator/test_specs.h"
#include "tests/support/http_get.h"
#include "tests/support/temp_dir.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::Ctx;
using ::nmoe::testing::ProfileSpec;
using ::nmoe::testing::SubmitRequest;
using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret-token";

class ServerTest : public ::testing::Test {
 protected:
  virtual bool WithMetrics() const { return false; }
  void SetUp() override {
    ServerConfig config;
    config.data_dir = dir_.file("db");
    config.listen = "127.0.0.1:0";
    // Each metrics Exposer takes ~2 s to stop: only the metrics test has one.
    if (WithMetrics()) config.metrics_listen = "127.0.0.1:0";
    config.tokens = {kToken};
    auto server = CoordinatorServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = ::nmoe::testing::LocalChannel(server_->port());
    jobs_ = v1::JobService::NewStub(channel_);
    workers_ = v1::WorkerService::NewStub(channel_);
  }

  std::string Submit(const v1::JobSpec& spec, const std::string& key = "") {
    v1::SubmitJobResponse response;
    grpc::Status s = jobs_->SubmitJob(Ctx(kToken).get(), SubmitRequest(spec, key), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.job().id();
  }

  ::nmoe::testing::TempDir dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
};

TEST_F(ServerTest, CallsWithoutAValidTokenAreUnauthenticated) {
  v1::ListJobsResponse list;
  grpc::Status missing = jobs_->ListJobs(Ctx("").get(), {}, &list);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("missing bearer token"));
  grpc::Status wrong = jobs_->ListJobs(Ctx("not-the-token").get(), {}, &list);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), ::testing::Not(HasSubstr("not-the-token")));
  // Worker and rendezvous calls are guarded too.
  v1::RegisterWorkerResponse reg;
  EXPECT_EQ(workers_->RegisterWorker(Ctx("").get(), {}, &reg).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::KvGetResponse kv;
  EXPECT_EQ(workers_->KvGet(Ctx("").get(), {}, &kv).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Health needs no token.
  EXPECT_EQ(::nmoe::testing::HealthStatus(channel_), 1);
}

TEST_F(ServerTest, SubmitGetListCancelRoundTrip) {
  const std::string id = Submit(ProfileSpec(1, "round-trip"), "rt-1");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Submit(ProfileSpec(1, "round-trip"), "rt-1"), id);

  v1::GetJobRequest get;
  get.set_job_id(id);
  v1::Job job;
  ASSERT_TRUE(jobs_->GetJob(Ctx(kToken).get(), get, &job).ok());
  EXPECT_EQ(job.spec().name(), "round-trip");
  EXPECT_EQ(job.state(), v1::JOB_STATE_PENDING);

  v1::ListJobsRequest list_request;
  list_request.add_kinds(v1::JOB_KIND_PROFILE);
  v1::ListJobsResponse list;
  ASSERT_TRUE(jobs_->ListJobs(Ctx(kToken).get(), list_request, &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  EXPECT_EQ(list.jobs(0).id(), id);

  v1::CancelJobRequest cancel;
  cancel.set_job_id(id);
  v1::Job cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx(kToken).get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);

  get.set_job_id("job-00000000000000000000");
  EXPECT_EQ(jobs_->GetJob(Ctx(kToken).get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, InvalidSpecGetsInvalidArgumentNamingTheField) {
  v1::JobSpec spec = ProfileSpec();
  spec.mutable_profile()->mutable_corpora(0)->set_language("English");
  v1::SubmitJobResponse response;
  grpc::Status s = jobs_->SubmitJob(Ctx(kToken).get(), SubmitRequest(spec), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("spec.profile.corpora[0].language:"));
}

// Collects a whole WatchJob stream on its own thread.
struct Watcher {
  Watcher(v1::JobService::Stub* stub, const std::string& job_id, uint64_t from_seq) {
    thread = std::thread([=, this] {
      auto ctx = std::make_unique<grpc::ClientContext>();
      ctx->AddMetadata("authorization", std::string("Bearer ") + kToken);
      ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      v1::WatchJobRequest request;
      request.set_job_id(job_id);
      request.set_from_seq(from_seq);
      request.set_include_progress(true);
      auto reader = stub->WatchJob(ctx.get(), request);
      v1::JobEvent event;
      while (reader->Read(&event)) events.push_back(event);
      status = reader->Finish();
    });
  }
  void Join() { thread.join(); }
  std::vector<v1::JobEvent> events;
  grpc::Status status;
  std::thread thread;
};

TEST_F(ServerTest, WatchStreamsEventsUntilTerminalAndResumesFromSeq) {
  const std::string id = Submit(ProfileSpec());
  Watcher live(jobs_.get(), id, 0);

  v1::RegisterWorkerRequest reg;
  reg.mutable_capabilities()->set_hostname("test-host");
  v1::RegisterWorkerResponse registered;
  ASSERT_TRUE(workers_->RegisterWorker(Ctx(kToken).get(), reg, &registered).ok());
  v1::LeaseTaskRequest lease;
  lease.set_worker_id(registered.worker_id());
  v1::LeaseTaskResponse leased;
  ASSERT_TRUE(workers_->LeaseTask(Ctx(kToken).get(), lease, &leased).ok());
  ASSERT_EQ(leased.task().job_id(), id);
  v1::ReportProgressRequest progress;
  progress.set_worker_id(registered.worker_id());
  progress.set_task_id(leased.task().id());
  progress.mutable_progress()->set_stage("profile");
  progress.mutable_progress()->set_done(3);
  progress.mutable_progress()->set_total(4);
  v1::ReportProgressResponse progressed;
  ASSERT_TRUE(workers_->ReportProgress(Ctx(kToken).get(), progress, &progressed).ok());
  v1::CompleteTaskRequest complete;
  complete.set_worker_id(registered.worker_id());
  complete.set_task_id(leased.task().id());
  v1::CompleteTaskResponse completed;
  ASSERT_TRUE(workers_->CompleteTask(Ctx(kToken).get(), complete, &completed).ok());

  live.Join();
  ASSERT_TRUE(live.status.ok()) << live.status.error_message();
  std::vector<v1::JobState> states;
  uint64_t expected_seq = 1;
  bool saw_progress = false;
  for (const auto& e : live.events) {
    EXPECT_EQ(e.seq(), expected_seq++);
    if (e.has_state_change()) states.push_back(e.state_change().to());
    saw_progress = saw_progress || (e.has_progress() && e.progress().done() == 3);
  }
  EXPECT_THAT(states, ::testing::ElementsAre(v1::JOB_STATE_PENDING, v1::JOB_STATE_SCHEDULED, v1::JOB_STATE_RUNNING,
                                             v1::JOB_STATE_SUCCEEDED));
  EXPECT_TRUE(saw_progress);

  // A watcher resuming after seq 3 gets exactly the rest, then the stream ends.
  Watcher resumed(jobs_.get(), id, 4);
  resumed.Join();
  ASSERT_TRUE(resumed.status.ok());
  ASSERT_EQ(resumed.events.size(), live.events.size() - 3);
  EXPECT_EQ(resumed.events.front().seq(), 4u);
  // Past the end of a finished job: ends at once.
  Watcher past(jobs_.get(), id, live.events.size() + 1);
  past.Join();
  EXPECT_TRUE(past.status.ok());
  EXPECT_TRUE(past.events.empty());
}

TEST_F(ServerTest, KvWaitCompletesWhenTheKeyIsSet) {
  const std::string id = Submit(ProfileSpec());
  v1::RegisterWorkerResponse registered;
  ASSERT_TRUE(workers_->RegisterWorker(Ctx(kToken).get(), {}, &registered).ok());
  v1::LeaseTaskRequest lease;
  lease.set_worker_id(registered.worker_id());
  v1::LeaseTaskResponse leased;
  ASSERT_TRUE(workers_->LeaseTask(Ctx(kToken).get(), lease, &leased).ok());

  v1::KvWaitResponse waited;
  grpc::Status wait_status;
  std::thread waiter([&] {
    v1::KvWaitRequest wait;
    wait.mutable_scope()->set_job_id(id);
    wait.mutable_scope()->set_attempt(1);
    wait.add_keys("nccl-id");
    wait.set_timeout_ms(10'000);
    wait_status = workers_->KvWait(Ctx(kToken).get(), wait, &waited);
  });
  while (server_->control_plane().rendezvous().waiter_count() == 0) std::this_thread::yield();
  v1::KvSetRequest set;
  set.mutable_scope()->set_job_id(id);
  set.mutable_scope()->set_attempt(1);
  set.set_key("nccl-id");
  set.set_value("\x01\x02");
  v1::KvSetResponse set_response;
  ASSERT_TRUE(workers_->KvSet(Ctx(kToken).get(), set, &set_response).ok());
  waiter.join();
  ASSERT_TRUE(wait_status.ok()) << wait_status.error_message();
  ASSERT_EQ(waited.values_size(), 1);
  EXPECT_EQ(waited.values(0), "\x01\x02");
  // A stale attempt is refused.
  set.mutable_scope()->set_attempt(7);
  EXPECT_EQ(workers_->KvSet(Ctx(kToken).get(), set, &set_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

class MetricsServerTest : public ServerTest {
 protected:
  bool WithMetrics() const override { return true; }
};

TEST_F(MetricsServerTest, MetricsEndpointExportsTheControlPlaneSeries) {
  Submit(ProfileSpec());
  v1::ListJobsResponse list;
  (void)jobs_->ListJobs(Ctx("wrong").get(), {}, &list);
  auto body = ::nmoe::testing::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr("nmoe_build_info{"));
  EXPECT_THAT(*body, HasSubstr("nmoe_jobs{state=\"pending\"} 1"));
  EXPECT_THAT(*body, HasSubstr("nmoe_workers{state=\"idle\"} 0"));
  EXPECT_THAT(*body, HasSubstr(
      "nmoe_rpc_requests_total{code=\"OK\",method=\"SubmitJob\",service=\"nmoe.v1.JobService\"} 1"));
  EXPECT_THAT(*body, HasSubstr(
      "nmoe_rpc_requests_total{code=\"UNAUTHENTICATED\",method=\"ListJobs\",service=\"nmoe.v1.JobService\"} 1"));
  EXPECT_THAT(*body, HasSubstr("nmoe_rpc_duration_seconds_bucket{method=\"SubmitJob\""));
  EXPECT_THAT(*body, HasSubstr("nmoe_job_transitions_total{reason=\"SUBMITTED\",to=\"pending\"} 1"));
}

TEST_F(ServerTest, ShutdownEndsWatchesResumably) {
  const std::string id = Submit(ProfileSpec());
  Watcher watcher(jobs_.get(), id, 0);
  while (server_->control_plane().event_hub().subscriber_count() == 0) std::this_thread::yield();
  std::thread stopper([&] { server_->Shutdown(absl::Seconds(2)); });
  watcher.Join();
  stopper.join();
  EXPECT_EQ(watcher.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(watcher.events.size(), 1u);  // PENDING, then the resumable end
}

TEST(ServerConfigTest, RefusesNoAuthOffLoopbackAndNoAuthWithoutTheFlag) {
  ::nmoe::testing::TempDir dir;
  ServerConfig config;
  config.data_dir = dir.file("db");
  config.listen = "127.0.0.1:0";
  EXPECT_THAT(std::string(CoordinatorServer::Start(config).status().message()), HasSubstr("--insecure-no-auth"));
  config.insecure_no_auth = true;
  config.listen = "0.0.0.0:0";
  EXPECT_THAT(std::string(CoordinatorServer::Start(config).status().message()), HasSubstr("non-loopback"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1") && IsLoopbackAddress("[::1]:5") && IsLoopbackAddress("127.1.2.3:9"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:7070") || IsLoopbackAddress("[::]:7070"));
}

}  // namespace
}  // namespace nmoe::coordinator

namespace nmoe::coordinator {
namespace {

// TLS with a certificate made by openssl for this test.
TEST(TlsServerTest, ServesTlsToClientsThatTrustTheCertificate) {
  ::nmoe::testing::TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                              "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key + " -out " + cert +
                              " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed";
  ServerConfig config;
  config.data_dir = dir.file("db");
  config.listen = "127.0.0.1:0";
  config.tokens = {kToken};
  config.tls_cert_file = cert;
  config.tls_key_file = key;
  auto server = CoordinatorServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = "127.0.0.1:" + std::to_string((*server)->port());

  std::ifstream in(cert);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs.assign(std::istreambuf_iterator<char>(in), {});
  auto secure = v1::JobService::NewStub(grpc::CreateChannel(target, grpc::SslCredentials(ssl)));
  v1::ListJobsResponse list;
  grpc::Status ok = secure->ListJobs(Ctx(kToken).get(), {}, &list);
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  // A plaintext client cannot talk to it.
  auto plain = v1::JobService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  auto ctx = Ctx(kToken);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(plain->ListJobs(ctx.get(), {}, &list).ok());

  // A missing key file is a precise startup error.
  config.tls_key_file = dir.file("missing.pem");
  config.data_dir = dir.file("db2");
  EXPECT_THAT(std::string(CoordinatorServer::Start(config).status().message()), HasSubstr("missing.pem"));
}

}  // namespace
}  // namespace nmoe::coordinator
