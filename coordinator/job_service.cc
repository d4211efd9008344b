#include "coordinator/job_states.h"
#include "coordinator/services.h"
#include "coordinator/unary_call.h"
#include "coordinator/watch_reactor.h"

namespace nmoe::coordinator {

grpc::ServerUnaryReactor* JobServiceImpl::SubmitJob(grpc::CallbackServerContext* ctx, const v1::SubmitJobRequest* req,
                                                    v1::SubmitJobResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.JobService.SubmitJob", resp,
                  [&]() -> absl::StatusOr<v1::SubmitJobResponse> {
                    auto ticket = admission_->AdmitSubmit();  // held while the submission is handled
                    if (!ticket.ok()) {
                      admission_->AddRetryHint(*ctx, ticket.status());
                      return ticket.status();
                    }
                    return cp_->SubmitJob(*req);
                  });
}

grpc::ServerUnaryReactor* JobServiceImpl::GetJob(grpc::CallbackServerContext* ctx, const v1::GetJobRequest* req,
                                                 v1::Job* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.JobService.GetJob", resp, [&] { return cp_->GetJob(req->job_id()); });
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobs(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest* req,
                                                   v1::ListJobsResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.JobService.ListJobs", resp, [&] { return cp_->ListJobs(*req); });
}

grpc::ServerUnaryReactor* JobServiceImpl::CancelJob(grpc::CallbackServerContext* ctx, const v1::CancelJobRequest* req,
                                                    v1::Job* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.JobService.CancelJob", resp,
                  [&] { return cp_->CancelJob(req->job_id(), req->reason()); });
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobEvents(grpc::CallbackServerContext* ctx,
                                                        const v1::ListJobEventsRequest* req,
                                                        v1::ListJobEventsResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.JobService.ListJobEvents", resp, [&] { return cp_->ListJobEvents(*req); });
}

namespace {
// A stream that ends at once with `status`.
class FailedStream final : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  explicit FailedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};
}  // namespace

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::WatchJob(grpc::CallbackServerContext* ctx,
                                                                 const v1::WatchJobRequest* req) {
  if (absl::Status s = auth_->Authorize(*ctx, "nmoe.v1.JobService.WatchJob"); !s.ok())
    return new FailedStream(ToGrpcStatus(s));
  if (shutting_down_->load()) {
    return new FailedStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator is shutting down"));
  }
  auto job = cp_->GetJob(req->job_id());
  if (!job.ok()) return new FailedStream(ToGrpcStatus(job.status()));
  auto ticket = admission_->AdmitWatch(ctx->peer());
  if (!ticket.ok()) {
    admission_->AddRetryHint(*ctx, ticket.status());
    return new FailedStream(ToGrpcStatus(ticket.status()));
  }
  const bool terminal_seen = IsTerminal(job->state()) && req->from_seq() > job->last_event_seq();
  return WatchReactor::Start(&cp_->event_hub(), &cp_->job_store(), *req, terminal_seen, shutting_down_,
                             *std::move(ticket));
}

}  // namespace nmoe::coordinator
