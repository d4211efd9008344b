#include "tests/comm/coordinator_gang.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"
#include "tests/coordinator/test_specs.h"

namespace nmoe::comm::testing {
namespace {

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", std::string("Bearer ") + CoordinatorGang::kToken);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CoordinatorGang>> CoordinatorGang::Start(const std::filesystem::path& dir, int world) {
  coordinator::ServerConfig config;
  config.data_dir = (dir / "coordinator-db").string();
  config.listen = "127.0.0.1:0";
  config.tokens = {kToken};
  // The test's workers do not heartbeat: keep them (and the attempt) alive.
  config.control.lease_ttl = absl::Minutes(10);
  auto server = coordinator::CoordinatorServer::Start(config);
  if (!server.ok()) return server.status();
  auto gang = std::unique_ptr<CoordinatorGang>(new CoordinatorGang());
  gang->server_ = std::move(*server);
  gang->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", gang->port()), grpc::InsecureChannelCredentials());
  auto jobs = v1::JobService::NewStub(gang->channel_);
  auto workers = v1::WorkerService::NewStub(gang->channel_);

  v1::SubmitJobResponse submitted;
  grpc::Status s = jobs->SubmitJob(Ctx().get(), ::nmoe::testing::SubmitRequest(::nmoe::testing::ProfileSpec(world)),
                                   &submitted);
  if (!s.ok()) return FromGrpcStatus(s);
  gang->job_id_ = submitted.job().id();
  gang->worker_ids_.resize(world);
  for (int i = 0; i < world; ++i) {
    v1::RegisterWorkerResponse registered;
    s = workers->RegisterWorker(Ctx().get(), {}, &registered);
    if (!s.ok()) return FromGrpcStatus(s);
    v1::LeaseTaskRequest lease;
    lease.set_worker_id(registered.worker_id());
    v1::LeaseTaskResponse leased;
    s = workers->LeaseTask(Ctx().get(), lease, &leased);
    if (!s.ok()) return FromGrpcStatus(s);
    if (!leased.has_task() || leased.task().job_id() != gang->job_id_ ||
        leased.task().world_size() != static_cast<uint32_t>(world)) {
      return absl::InternalError(absl::StrCat("lease ", i, " got no task of job ", gang->job_id_, ": ",
                                              leased.DebugString()));
    }
    gang->attempt_ = leased.task().attempt();
    gang->worker_ids_.at(leased.task().rank()) = registered.worker_id();
  }
  return gang;
}

CoordinatorGang::~CoordinatorGang() {
  if (server_) server_->Shutdown(absl::Milliseconds(200));
}

}  // namespace nmoe::comm::testing
