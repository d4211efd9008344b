// Back-pressure and input bounds of the coordinator (coordinator/admission.h,
// common/spec_limits.h, --data-root) against a real in-process server on
// 127.0.0.1 over a real RocksDB in a temp dir.
#include <chrono>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/admission.h"
#include "coordinator/server.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "tests/coordinator/grpc_test_client.h"
#include "tests/coordinator/test_specs.h"
#include "tests/support/temp_dir.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::Ctx;
using ::nmoe::testing::ProfileSpec;
using ::nmoe::testing::SubmitRequest;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kToken[] = "limits-token";

// A channel with its own TCP connection (gRPC shares connections between
// channels to one address by default), so it is a separate peer.
std::shared_ptr<grpc::Channel> OwnConnection(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args);
}

// An open WatchJob stream; `status` is set when it ended.
struct Watch {
  std::unique_ptr<grpc::ClientContext> ctx = Ctx(kToken);
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader;
  grpc::Status status;
  bool open = false;

  Watch(v1::JobService::Stub& stub, const std::string& job_id) {
    v1::WatchJobRequest request;
    request.set_job_id(job_id);
    reader = stub.WatchJob(ctx.get(), request);
    v1::JobEvent first;  // every job has its SUBMITTED event
    open = reader->Read(&first);
    if (!open) status = reader->Finish();
  }
  std::string RetryHint() const {
    auto trailers = ctx->GetServerTrailingMetadata();
    auto it = trailers.find("retry-after-ms");
    return it == trailers.end() ? "" : std::string(it->second.data(), it->second.size());
  }
  ~Watch() {
    if (!open) return;
    ctx->TryCancel();
    v1::JobEvent e;
    while (reader->Read(&e)) {
    }
    reader->Finish();
  }
};

class LimitsTest : public ::testing::Test {
 protected:
  void Start(const ServerConfig& base) {
    ServerConfig config = base;
    config.data_dir = dir_.file("db");
    config.listen = "127.0.0.1:0";
    config.tokens = {kToken};
    auto server = CoordinatorServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    jobs_ = v1::JobService::NewStub(OwnConnection(server_->port()));
  }
  grpc::Status Submit(const v1::JobSpec& spec, std::string* id = nullptr) {
    v1::SubmitJobResponse response;
    grpc::Status s = jobs_->SubmitJob(Ctx(kToken).get(), SubmitRequest(spec), &response);
    if (id) *id = response.job().id();
    return s;
  }

  ::nmoe::testing::TempDir dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
};

TEST_F(LimitsTest, WatchStreamsAreCappedPerConnectionAndInAll) {
  ServerConfig config;
  config.limits.max_watch_streams = 3;
  config.limits.max_watch_streams_per_peer = 2;
  config.limits.retry_after = absl::Milliseconds(1500);
  Start(config);
  std::string job;
  ASSERT_TRUE(Submit(ProfileSpec(), &job).ok());  // stays PENDING: no workers

  auto a1 = std::make_unique<Watch>(*jobs_, job);
  Watch a2(*jobs_, job);
  ASSERT_TRUE(a1->open && a2.open);
  Watch a3(*jobs_, job);  // a third on the same connection
  ASSERT_FALSE(a3.open);
  EXPECT_EQ(a3.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(a3.status.error_message(), HasSubstr("--max-watch-streams-per-peer"));
  EXPECT_THAT(a3.status.error_message(), HasSubstr("retry in 1.5s"));
  EXPECT_EQ(a3.RetryHint(), "1500");

  auto other = v1::JobService::NewStub(OwnConnection(server_->port()));
  Watch b1(*other, job);
  ASSERT_TRUE(b1.open) << b1.status.error_message();
  Watch b2(*other, job);  // 3 open in all
  ASSERT_FALSE(b2.open);
  EXPECT_EQ(b2.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(b2.status.error_message(), HasSubstr("3 watch streams open (limit 3, --max-watch-streams)"));

  // A closed stream gives its slot back.
  a1.reset();
  for (int i = 0; i < 200 && server_->admission().open_watches() > 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Watch b3(*other, job);
  EXPECT_TRUE(b3.open) << b3.status.error_message();
  EXPECT_EQ(server_->admission().open_watches(), 3u);
}

TEST(AdmissionTest, SubmissionsInFlightAreCapped) {
  AdmissionLimits limits;
  limits.max_inflight_submits = 2;
  Admission admission(limits, nullptr);
  auto t1 = admission.AdmitSubmit();
  auto t2 = admission.AdmitSubmit();
  ASSERT_TRUE(t1.ok() && t2.ok());
  auto t3 = admission.AdmitSubmit();
  EXPECT_TRUE(absl::IsResourceExhausted(t3.status()));
  EXPECT_THAT(std::string(t3.status().message()), HasSubstr("2 submissions in flight (limit 2, --max-inflight-submits)"));
  t1->reset();
  EXPECT_TRUE(admission.AdmitSubmit().ok());
  // Watches are counted apart from submissions; 0 means no limit.
  limits.max_inflight_submits = 0;
  Admission unbounded(limits, nullptr);
  std::vector<std::unique_ptr<Admission::Ticket>> many;
  for (int i = 0; i < 1000; ++i) many.push_back(*unbounded.AdmitSubmit());
}

TEST_F(LimitsTest, OversizedRequestsAndSpecsAreRefused) {
  Start({});
  // Over the 16 MiB message limit: refused by gRPC before any handler runs.
  v1::JobSpec huge = ProfileSpec();
  huge.set_name(std::string(kMaxMessageBytes + 1, 'x'));
  EXPECT_EQ(Submit(huge).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Under it, but with more corpus files than a spec may have.
  v1::JobSpec many = ProfileSpec();
  for (int i = 0; i < 5000; ++i) many.mutable_profile()->mutable_corpora(0)->add_paths("f" + std::to_string(i));
  grpc::Status s = Submit(many);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("spec.profile.corpora[0].paths: 5001 entries, at most 4096"));
}

TEST_F(LimitsTest, SpecPathsOutsideTheDataRootsAreRefused) {
  ServerConfig config;
  auto roots = DataRoots::Create({dir_.file("data")});
  ASSERT_TRUE(roots.ok());
  config.control.data_roots = *roots;
  Start(config);
  EXPECT_TRUE(Submit(ProfileSpec()).ok());  // relative paths: resolved and checked by the workers

  v1::JobSpec inside = ProfileSpec();
  inside.mutable_profile()->mutable_model()->set_path(dir_.file("data/models/base"));
  EXPECT_TRUE(Submit(inside).ok());

  v1::JobSpec outside = ProfileSpec();
  outside.mutable_profile()->mutable_corpora(1)->set_paths(0, "/etc/passwd");
  grpc::Status s = Submit(outside);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("spec.profile.corpora[1].paths[0]: '/etc/passwd' is outside the data roots"));

  v1::JobSpec climbing = ProfileSpec();
  climbing.mutable_profile()->set_output_path("../../../tmp/out");
  s = Submit(climbing);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("spec.profile.output_path: '../../../tmp/out' climbs out"));
}

}  // namespace
}  // namespace nmoe::coordinator
