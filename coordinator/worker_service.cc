#include "absl/strings/str_cat.h"
#include "coordinator/services.h"
#include "coordinator/unary_call.h"

namespace nmoe::coordinator {
namespace {

constexpr uint32_t kMaxWaitMs = 10 * 60 * 1000;
constexpr size_t kMaxWaitKeys = 4096;

using Empty = absl::StatusOr<bool>;

KvScopeKey ScopeOf(const v1::KvScope& scope) { return {scope.job_id(), scope.attempt()}; }

}  // namespace

grpc::ServerUnaryReactor* WorkerServiceImpl::RegisterWorker(grpc::CallbackServerContext* ctx,
                                                            const v1::RegisterWorkerRequest* req,
                                                            v1::RegisterWorkerResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.RegisterWorker", resp, [&] { return cp_->RegisterWorker(*req); });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::Heartbeat(grpc::CallbackServerContext* ctx,
                                                       const v1::HeartbeatRequest* req, v1::HeartbeatResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.Heartbeat", resp, [&] { return cp_->Heartbeat(*req); });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::LeaseTask(grpc::CallbackServerContext* ctx,
                                                       const v1::LeaseTaskRequest* req, v1::LeaseTaskResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.LeaseTask", resp, [&] { return cp_->LeaseTask(*req); });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportProgress(grpc::CallbackServerContext* ctx,
                                                            const v1::ReportProgressRequest* req,
                                                            v1::ReportProgressResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.ReportProgress", resp, [&] { return cp_->ReportProgress(*req); });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::CompleteTask(grpc::CallbackServerContext* ctx,
                                                          const v1::CompleteTaskRequest* req,
                                                          v1::CompleteTaskResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.CompleteTask", resp,
                  [&]() -> absl::StatusOr<v1::CompleteTaskResponse> {
                    if (auto s = cp_->CompleteTask(*req); !s.ok()) return s;
                    return v1::CompleteTaskResponse();
                  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::FailTask(grpc::CallbackServerContext* ctx, const v1::FailTaskRequest* req,
                                                      v1::FailTaskResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.FailTask", resp, [&]() -> absl::StatusOr<v1::FailTaskResponse> {
    if (auto s = cp_->FailTask(*req); !s.ok()) return s;
    return v1::FailTaskResponse();
  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::DeregisterWorker(grpc::CallbackServerContext* ctx,
                                                              const v1::DeregisterWorkerRequest* req,
                                                              v1::DeregisterWorkerResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.DeregisterWorker", resp,
                  [&]() -> absl::StatusOr<v1::DeregisterWorkerResponse> {
                    if (auto s = cp_->DeregisterWorker(req->worker_id()); !s.ok()) return s;
                    return v1::DeregisterWorkerResponse();
                  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ListWorkers(grpc::CallbackServerContext* ctx,
                                                         const v1::ListWorkersRequest* req,
                                                         v1::ListWorkersResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.ListWorkers", resp,
                  [&]() -> absl::StatusOr<v1::ListWorkersResponse> { return cp_->ListWorkers(); });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::KvSet(grpc::CallbackServerContext* ctx, const v1::KvSetRequest* req,
                                                   v1::KvSetResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.KvSet", resp, [&]() -> absl::StatusOr<v1::KvSetResponse> {
    if (auto s = cp_->CheckLiveAttempt(req->scope().job_id(), req->scope().attempt()); !s.ok()) return s;
    if (auto s = cp_->rendezvous().Set(ScopeOf(req->scope()), req->key(), req->value()); !s.ok()) return s;
    return v1::KvSetResponse();
  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::KvGet(grpc::CallbackServerContext* ctx, const v1::KvGetRequest* req,
                                                   v1::KvGetResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.KvGet", resp, [&]() -> absl::StatusOr<v1::KvGetResponse> {
    if (auto s = cp_->CheckLiveAttempt(req->scope().job_id(), req->scope().attempt()); !s.ok()) return s;
    auto value = cp_->rendezvous().Get(ScopeOf(req->scope()), req->key());
    if (!value.ok()) return value.status();
    v1::KvGetResponse r;
    r.set_found(value->has_value());
    if (value->has_value()) r.set_value(**value);
    return r;
  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::KvAdd(grpc::CallbackServerContext* ctx, const v1::KvAddRequest* req,
                                                   v1::KvAddResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.KvAdd", resp, [&]() -> absl::StatusOr<v1::KvAddResponse> {
    if (auto s = cp_->CheckLiveAttempt(req->scope().job_id(), req->scope().attempt()); !s.ok()) return s;
    auto sum = cp_->rendezvous().Add(ScopeOf(req->scope()), req->key(), req->delta());
    if (!sum.ok()) return sum.status();
    v1::KvAddResponse r;
    r.set_value(*sum);
    return r;
  });
}

// Completes later: when the keys appear, the deadline passes, or the attempt ends.
grpc::ServerUnaryReactor* WorkerServiceImpl::KvWait(grpc::CallbackServerContext* ctx, const v1::KvWaitRequest* req,
                                                    v1::KvWaitResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status s = auth_->Authorize(*ctx, "nmoe.v1.WorkerService.KvWait");
  if (s.ok()) s = cp_->CheckLiveAttempt(req->scope().job_id(), req->scope().attempt());
  if (s.ok() && (req->keys().empty() || static_cast<size_t>(req->keys_size()) > kMaxWaitKeys)) {
    s = absl::InvalidArgumentError(absl::StrCat("keys: between 1 and ", kMaxWaitKeys, " keys"));
  }
  if (s.ok() && (req->timeout_ms() == 0 || req->timeout_ms() > kMaxWaitMs)) {
    s = absl::InvalidArgumentError(absl::StrCat("timeout_ms: must be in [1, ", kMaxWaitMs, "]"));
  }
  if (!s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  std::vector<std::string> keys(req->keys().begin(), req->keys().end());
  cp_->rendezvous().Wait(ScopeOf(req->scope()), std::move(keys),
                         clock_->Now() + absl::Milliseconds(req->timeout_ms()),
                         [reactor, resp](absl::StatusOr<std::vector<std::string>> values) {
                           if (values.ok()) {
                             for (auto& v : *values) resp->add_values(std::move(v));
                           }
                           reactor->Finish(ToGrpcStatus(values.status()));
                         });
  return reactor;
}

}  // namespace nmoe::coordinator
