// The real nmoe-coordinator process: acknowledged submissions survive
// kill -9, a restart recovers every job and state, SIGTERM exits cleanly.
#include <signal.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "tests/coordinator/grpc_test_client.h"
#include "tests/coordinator/test_specs.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::Ctx;

constexpr char kToken[] = "durability-token";

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(dir_.file("tokens")) << "# test token\n" << kToken << "\n"; }

  // Starts the daemon on the test's database and connects to it.
  void StartCoordinator() {
    std::filesystem::remove(dir_.file("port"));
    auto child = ::nmoe::testing::ChildProcess::Start(
        {::nmoe::testing::BuildPath("coordinator/nmoe-coordinator"), "--data-dir", dir_.file("db"), "--listen",
         "127.0.0.1:0", "--port-file", dir_.file("port"), "--token-file", dir_.file("tokens")},
        dir_.file("coordinator.log"));
    ASSERT_TRUE(child.ok()) << child.status();
    process_ = std::make_unique<::nmoe::testing::ChildProcess>(std::move(*child));
    auto lines = ::nmoe::testing::WaitForFileLines(dir_.file("port"), 1, absl::Seconds(30));
    ASSERT_TRUE(lines.ok()) << lines.status() << "\n" << Log();
    stub_ = v1::JobService::NewStub(::nmoe::testing::LocalChannel(std::stoi((*lines)[0])));
  }

  std::string Log() {
    std::ifstream in(dir_.file("coordinator.log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ::nmoe::testing::TempDir dir_;
  std::unique_ptr<::nmoe::testing::ChildProcess> process_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

TEST_F(DurabilityTest, AcknowledgedJobsSurviveKillNineAndRestart) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  std::map<std::string, v1::JobState> acknowledged;
  for (int i = 0; i < 20; ++i) {
    v1::SubmitJobResponse response;
    auto request = ::nmoe::testing::SubmitRequest(::nmoe::testing::ProfileSpec(1, "job" + std::to_string(i)),
                                                  "key-" + std::to_string(i));
    ASSERT_TRUE(stub_->SubmitJob(Ctx(kToken).get(), request, &response).ok());
    acknowledged[response.job().id()] = v1::JOB_STATE_PENDING;
    if (i % 5 == 0) {
      v1::CancelJobRequest cancel;
      cancel.set_job_id(response.job().id());
      v1::Job job;
      ASSERT_TRUE(stub_->CancelJob(Ctx(kToken).get(), cancel, &job).ok());
      acknowledged[response.job().id()] = v1::JOB_STATE_CANCELLED;
    }
  }
  // No grace: SIGKILL right after the last acknowledgement.
  process_->Kill(SIGKILL);
  ASSERT_EQ(*process_->Wait(absl::Seconds(10)), 128 + SIGKILL);

  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  v1::ListJobsRequest request;
  request.set_page_size(1000);
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(Ctx(kToken).get(), request, &list).ok());
  std::map<std::string, v1::JobState> recovered;
  for (const auto& job : list.jobs()) recovered[job.id()] = job.state();
  EXPECT_EQ(recovered, acknowledged);
  // Idempotency keys survived too.
  v1::SubmitJobResponse again;
  ASSERT_TRUE(stub_->SubmitJob(Ctx(kToken).get(),
                               ::nmoe::testing::SubmitRequest(::nmoe::testing::ProfileSpec(1, "job3"), "key-3"), &again)
                  .ok());
  EXPECT_FALSE(again.created());
  EXPECT_TRUE(acknowledged.count(again.job().id()));
}

TEST_F(DurabilityTest, SigtermShutsDownCleanly) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  process_->Kill(SIGTERM);
  auto code = process_->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << Log();
  EXPECT_THAT(Log(), ::testing::HasSubstr("shut down cleanly"));
}

TEST_F(DurabilityTest, ACorruptTokenFileIsAPreciseStartupError) {
  std::ofstream(dir_.file("tokens")) << "three bad words\n";  // at most "<role> <token>"
  auto child = ::nmoe::testing::ChildProcess::Start(
      {::nmoe::testing::BuildPath("coordinator/nmoe-coordinator"), "--data-dir", dir_.file("db"), "--listen",
       "127.0.0.1:0", "--token-file", dir_.file("tokens")},
      dir_.file("coordinator.log"));
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(*child->Wait(absl::Seconds(20)), 2);
  EXPECT_THAT(Log(), ::testing::HasSubstr("line 1: expected '<token>' or '<role> <token>'"));
}

}  // namespace
}  // namespace nmoe::coordinator
