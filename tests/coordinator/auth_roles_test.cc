// Roles (docs/security.md): the table of coordinator/rpc_roles.cc covers every
// RPC of the protos, every handler enforces it, and each role can do its job
// and nothing more, against a real in-process coordinator.
#include <filesystem>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "coordinator/rpc_roles.h"
#include "coordinator/server.h"
#include "nmoe/v1/info_service.grpc.pb.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/results_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"
#include "tests/coordinator/grpc_test_client.h"
#include "tests/coordinator/test_specs.h"
#include "tests/support/temp_dir.h"

namespace nmoe::coordinator {
namespace {

namespace fs = std::filesystem;
using ::nmoe::testing::Ctx;
using ::testing::HasSubstr;
using ::testing::Not;

// Every RPC method of every service of proto/nmoe/v1, by full name. The
// descriptors of a file are in the generated pool only when its code is linked
// in: the references below pull each file in, and a new .proto file fails here
// until it is added to them.
std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  const google::protobuf::FileDescriptor* linked[] = {
      v1::SubmitJobRequest::descriptor()->file(), v1::RegisterWorkerRequest::descriptor()->file(),
      v1::GetPlanRequest::descriptor()->file(), v1::GetServerInfoRequest::descriptor()->file()};
  (void)linked;
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  const char* source_dir = std::getenv("NMOE_SOURCE_DIR");
  EXPECT_NE(source_dir, nullptr) << "run through ctest (NMOE_SOURCE_DIR)";
  if (source_dir == nullptr) return methods;
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(source_dir) / "proto/nmoe/v1")) {
    if (entry.path().extension() != ".proto") continue;
    ++files;
    const std::string name = "nmoe/v1/" + entry.path().filename().string();
    const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    EXPECT_NE(file, nullptr) << name << " is not linked into this test: reference one of its messages in AllMethods()";
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) methods.push_back(file->service(s)->method(m));
    }
  }
  EXPECT_GE(files, 4u);
  return methods;
}

std::string GrpcPath(const google::protobuf::MethodDescriptor* m) {
  return "/" + m->service()->full_name() + "/" + m->name();
}

TEST(RpcRoleTableTest, EveryMethodOfEveryServiceHasAnEntryAndNoEntryIsStale) {
  const auto methods = AllMethods();
  ASSERT_GE(methods.size(), 29u);  // 6 job, 16 worker, 6 results, 1 info RPCs when written
  std::set<std::string> names;
  for (const auto* m : methods) {
    names.insert(m->full_name());
    EXPECT_TRUE(RolesAllowed(m->full_name()).has_value())
        << m->full_name() << " has no entry in coordinator/rpc_roles.cc: decide which roles may call it";
  }
  std::set<std::string_view> seen;
  for (const auto& [name, roles] : RpcRoleTable()) {
    EXPECT_TRUE(names.count(std::string(name))) << name << " is in the role table but in no proto";
    EXPECT_TRUE(seen.insert(name).second) << name << " is in the role table twice";
    EXPECT_TRUE(roles.Contains(Role::kAdmin)) << name << ": admin may call everything";
  }
}

TEST(RpcRoleTableTest, TheRolesKeepTheirPromises) {
  auto allowed = [](const char* method, Role role) { return RolesAllowed(method)->Contains(role); };
  // A worker token cannot submit or cancel jobs.
  EXPECT_FALSE(allowed("nmoe.v1.JobService.SubmitJob", Role::kWorker));
  EXPECT_FALSE(allowed("nmoe.v1.JobService.CancelJob", Role::kWorker));
  // A submitter cannot act as a worker or touch rendezvous keys.
  for (const char* m : {"nmoe.v1.WorkerService.RegisterWorker", "nmoe.v1.WorkerService.LeaseTask",
                        "nmoe.v1.WorkerService.PutPlan", "nmoe.v1.WorkerService.KvSet",
                        "nmoe.v1.WorkerService.KvAdd", "nmoe.v1.WorkerService.KvGet"}) {
    EXPECT_FALSE(allowed(m, Role::kSubmitter)) << m;
  }
  // A viewer only reads: no method it may call changes state.
  for (const auto& [name, roles] : RpcRoleTable()) {
    if (!roles.Contains(Role::kViewer)) continue;
    const std::string method(name.substr(name.rfind('.') + 1));
    EXPECT_TRUE(method.rfind("Get", 0) == 0 || method.rfind("List", 0) == 0 || method.rfind("Query", 0) == 0 ||
                method == "WatchJob")
        << name << " is open to viewers but does not look like a read";
  }
  EXPECT_FALSE(RolesAllowed("nmoe.v1.JobService.NoSuchMethod").has_value());
}

constexpr char kAdmin[] = "admin-tok-1f3a";
constexpr char kSubmitter[] = "submitter-tok-9b2c";
constexpr char kViewer[] = "viewer-tok-77de";
constexpr char kWorker[] = "worker-tok-c0c0";
constexpr char kBare[] = "bare-tok-5e5e";

class RolesServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string token_file = dir_.file("tokens");
    std::ofstream(token_file) << "# roles\nadmin " << kAdmin << "\nsubmitter " << kSubmitter << "\n\tviewer\t"
                              << kViewer << "\nworker " << kWorker << "\n" << kBare << "\n";
    auto entries = ReadTokenEntries(token_file);
    ASSERT_TRUE(entries.ok()) << entries.status();
    ServerConfig config;
    config.data_dir = dir_.file("db");
    config.listen = "127.0.0.1:0";
    config.role_tokens = *entries;
    config.tick_interval = absl::ZeroDuration();
    auto server = CoordinatorServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = ::nmoe::testing::LocalChannel(server_->port());
    jobs_ = v1::JobService::NewStub(channel_);
    workers_ = v1::WorkerService::NewStub(channel_);
    results_ = v1::ResultsService::NewStub(channel_);
  }

  grpc::Status Submit(const std::string& token, std::string* id = nullptr) {
    v1::SubmitJobResponse response;
    grpc::Status s = jobs_->SubmitJob(Ctx(token).get(), ::nmoe::testing::SubmitRequest(::nmoe::testing::ProfileSpec()),
                                      &response);
    if (id) *id = response.job().id();
    return s;
  }
  grpc::Status Cancel(const std::string& token, const std::string& id) {
    v1::CancelJobRequest request;
    request.set_job_id(id);
    v1::Job job;
    return jobs_->CancelJob(Ctx(token).get(), request, &job);
  }
  grpc::Status Register(const std::string& token, std::string* id = nullptr) {
    v1::RegisterWorkerRequest request;
    request.mutable_capabilities()->set_threads(1);
    v1::RegisterWorkerResponse response;
    grpc::Status s = workers_->RegisterWorker(Ctx(token).get(), request, &response);
    if (id) *id = response.worker_id();
    return s;
  }
  grpc::Status KvSet(const std::string& token) {
    v1::KvSetRequest request;
    request.mutable_scope()->set_job_id("job-none");
    request.set_key("k");
    request.set_value("v");
    v1::KvSetResponse response;
    return workers_->KvSet(Ctx(token).get(), request, &response);
  }
  grpc::Status ListJobs(const std::string& token) {
    v1::ListJobsResponse response;
    return jobs_->ListJobs(Ctx(token).get(), {}, &response);
  }
  grpc::Status GetPlan(const std::string& token) {
    v1::GetPlanRequest request;
    request.set_plan_id("plan-none");
    v1::Plan plan;
    return results_->GetPlan(Ctx(token).get(), request, &plan);
  }
  grpc::Status PutPlan(const std::string& token) {
    v1::PutPlanResponse response;
    return workers_->PutPlan(Ctx(token).get(), {}, &response);
  }

  static void ExpectDenied(const grpc::Status& s, const std::string& role, const std::string& method,
                           const std::string& token) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << method << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("role '" + role + "'"));
    EXPECT_THAT(s.error_message(), HasSubstr(method));
    EXPECT_THAT(s.error_message(), Not(HasSubstr(token)));
  }
  static void ExpectAuthorized(const grpc::Status& s, const std::string& what) {
    EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what << ": " << s.error_message();
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << what << ": " << s.error_message();
  }

  ::nmoe::testing::TempDir dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<v1::ResultsService::Stub> results_;
};

// Every method x every role through the real handlers, expectations from the
// table: a handler checking the wrong name (or none) fails here.
TEST_F(RolesServerTest, EveryHandlerEnforcesTheTable) {
  const std::pair<Role, const char*> tokens[] = {
      {Role::kAdmin, kAdmin}, {Role::kSubmitter, kSubmitter}, {Role::kViewer, kViewer}, {Role::kWorker, kWorker}};
  for (const auto* m : AllMethods()) {
    const RoleSet allowed = *RolesAllowed(m->full_name());
    for (const auto& [role, token] : tokens) {
      const grpc::Status s = ::nmoe::testing::GenericEmptyCall(channel_, GrpcPath(m), token);
      if (allowed.Contains(role)) {
        ExpectAuthorized(s, m->full_name() + " as " + std::string(RoleName(role)));
      } else {
        ExpectDenied(s, std::string(RoleName(role)), m->full_name(), token);
      }
    }
    const grpc::Status unknown = ::nmoe::testing::GenericEmptyCall(channel_, GrpcPath(m), "no-such-token-4242");
    EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED) << m->full_name();
    EXPECT_THAT(unknown.error_message(), Not(HasSubstr("no-such-token-4242")));
    EXPECT_EQ(::nmoe::testing::GenericEmptyCall(channel_, GrpcPath(m), "").error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << m->full_name();
  }
  EXPECT_EQ(::nmoe::testing::HealthStatus(channel_), 1);  // health needs no token
}

TEST_F(RolesServerTest, SubmitterSubmitsAndCancelsButIsNoWorker) {
  std::string id;
  ASSERT_TRUE(Submit(kSubmitter, &id).ok());
  EXPECT_TRUE(ListJobs(kSubmitter).ok());
  ExpectDenied(Register(kSubmitter), "submitter", "nmoe.v1.WorkerService.RegisterWorker", kSubmitter);
  ExpectDenied(KvSet(kSubmitter), "submitter", "nmoe.v1.WorkerService.KvSet", kSubmitter);
  ExpectDenied(PutPlan(kSubmitter), "submitter", "nmoe.v1.WorkerService.PutPlan", kSubmitter);
  EXPECT_TRUE(Cancel(kSubmitter, id).ok());
}

TEST_F(RolesServerTest, WorkerLeasesButCannotSubmitOrCancel) {
  std::string id;
  ASSERT_TRUE(Submit(kAdmin, &id).ok());
  ExpectDenied(Submit(kWorker), "worker", "nmoe.v1.JobService.SubmitJob", kWorker);
  ExpectDenied(Cancel(kWorker, id), "worker", "nmoe.v1.JobService.CancelJob", kWorker);
  ExpectDenied(ListJobs(kWorker), "worker", "nmoe.v1.JobService.ListJobs", kWorker);
  std::string worker_id;
  ASSERT_TRUE(Register(kWorker, &worker_id).ok());
  v1::LeaseTaskRequest lease;
  lease.set_worker_id(worker_id);
  v1::LeaseTaskResponse leased;
  grpc::Status s = workers_->LeaseTask(Ctx(kWorker).get(), lease, &leased);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(leased.task().job_id(), id);
  // Rendezvous keys and results: past authorization (the attempt is not a gang's).
  ExpectAuthorized(KvSet(kWorker), "KvSet");
  ExpectAuthorized(GetPlan(kWorker), "GetPlan");
}

TEST_F(RolesServerTest, ViewerOnlyReads) {
  std::string id;
  ASSERT_TRUE(Submit(kAdmin, &id).ok());
  EXPECT_TRUE(ListJobs(kViewer).ok());
  v1::GetJobRequest get;
  get.set_job_id(id);
  v1::Job job;
  EXPECT_TRUE(jobs_->GetJob(Ctx(kViewer).get(), get, &job).ok());
  v1::WatchJobRequest watch;
  watch.set_job_id(id);
  auto ctx = Ctx(kViewer);
  auto reader = jobs_->WatchJob(ctx.get(), watch);
  v1::JobEvent event;
  EXPECT_TRUE(reader->Read(&event));  // the SUBMITTED event
  ctx->TryCancel();
  reader->Finish();
  EXPECT_EQ(GetPlan(kViewer).error_code(), grpc::StatusCode::NOT_FOUND);
  ExpectDenied(Submit(kViewer), "viewer", "nmoe.v1.JobService.SubmitJob", kViewer);
  ExpectDenied(Cancel(kViewer, id), "viewer", "nmoe.v1.JobService.CancelJob", kViewer);
  ExpectDenied(Register(kViewer), "viewer", "nmoe.v1.WorkerService.RegisterWorker", kViewer);
  ExpectDenied(KvSet(kViewer), "viewer", "nmoe.v1.WorkerService.KvSet", kViewer);
}

TEST_F(RolesServerTest, AdminAndABareTokenMayDoEverything) {
  for (const char* token : {kAdmin, kBare}) {
    std::string id;
    ASSERT_TRUE(Submit(token, &id).ok()) << token;
    EXPECT_TRUE(Register(token).ok()) << token;
    ExpectAuthorized(KvSet(token), "KvSet");
    EXPECT_TRUE(Cancel(token, id).ok()) << token;
  }
}

TEST(TokenEntriesServerTest, PlainTokensStillWorkAsAdmin) {
  // ServerConfig::tokens (NMOE_TOKEN, older callers) are admin tokens.
  ::nmoe::testing::TempDir dir;
  ServerConfig config;
  config.data_dir = dir.file("db");
  config.listen = "127.0.0.1:0";
  config.tokens = {"plain-admin"};
  config.tick_interval = absl::ZeroDuration();
  auto server = CoordinatorServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = ::nmoe::testing::LocalChannel((*server)->port());
  EXPECT_NE(::nmoe::testing::GenericEmptyCall(channel, "/nmoe.v1.WorkerService/KvSet", "plain-admin").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(::nmoe::testing::GenericEmptyCall(channel, "/nmoe.v1.WorkerService/KvSet", "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace nmoe::coordinator
