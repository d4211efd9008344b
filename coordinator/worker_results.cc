// WorkerService's results writes: a running task's neuron statistics, profile
// summary, plans and evaluations go to the ResultsStore. The caller must hold the task's
// lease (a torn-down attempt cannot overwrite its successor's results), and
// every record must name the task's job.
#include "absl/strings/str_cat.h"
#include "coordinator/services.h"
#include "coordinator/unary_call.h"

namespace nmoe::coordinator {
namespace {

absl::Status SameJob(const std::string& field, const std::string& job_id, const std::string& task_job) {
  if (job_id == task_job) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", job_id, "' is not the job of the task ('", task_job, "')"));
}

}  // namespace

grpc::ServerUnaryReactor* WorkerServiceImpl::PutNeuronStats(grpc::CallbackServerContext* ctx,
                                                            const v1::PutNeuronStatsRequest* req,
                                                            v1::PutNeuronStatsResponse* resp) {
  return RunUnary(
      ctx, *auth_, "nmoe.v1.WorkerService.PutNeuronStats", resp, [&]() -> absl::StatusOr<v1::PutNeuronStatsResponse> {
        auto job = cp_->HeldTaskJob(req->worker_id(), req->task_id());
        if (!job.ok()) return job.status();
        for (int i = 0; i < req->stats_size(); ++i) {
          if (auto s = SameJob(absl::StrCat("stats[", i, "].job_id"), req->stats(i).job_id(), *job); !s.ok()) return s;
        }
        std::vector<v1::NeuronStat> stats(req->stats().begin(), req->stats().end());
        if (auto s = results_->PutNeuronStats(stats); !s.ok()) return s;
        return v1::PutNeuronStatsResponse();
      });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::PutProfileSummary(grpc::CallbackServerContext* ctx,
                                                               const v1::PutProfileSummaryRequest* req,
                                                               v1::PutProfileSummaryResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.PutProfileSummary", resp,
                  [&]() -> absl::StatusOr<v1::PutProfileSummaryResponse> {
                    auto job = cp_->HeldTaskJob(req->worker_id(), req->task_id());
                    if (!job.ok()) return job.status();
                    if (auto s = SameJob("summary.job_id", req->summary().job_id(), *job); !s.ok()) return s;
                    if (auto s = results_->PutProfileSummary(req->summary()); !s.ok()) return s;
                    return v1::PutProfileSummaryResponse();
                  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::PutPlan(grpc::CallbackServerContext* ctx, const v1::PutPlanRequest* req,
                                                     v1::PutPlanResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.PutPlan", resp, [&]() -> absl::StatusOr<v1::PutPlanResponse> {
    auto job = cp_->HeldTaskJob(req->worker_id(), req->task_id());
    if (!job.ok()) return job.status();
    if (req->plan().id().empty()) return absl::InvalidArgumentError("plan.id: is required");
    if (auto s = SameJob("plan.job_id", req->plan().job_id(), *job); !s.ok()) return s;
    if (auto s = results_->PutPlan(req->plan()); !s.ok()) return s;
    return v1::PutPlanResponse();
  });
}

grpc::ServerUnaryReactor* WorkerServiceImpl::PutEvaluation(grpc::CallbackServerContext* ctx,
                                                           const v1::PutEvaluationRequest* req,
                                                           v1::PutEvaluationResponse* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.WorkerService.PutEvaluation", resp,
                  [&]() -> absl::StatusOr<v1::PutEvaluationResponse> {
                    auto job = cp_->HeldTaskJob(req->worker_id(), req->task_id());
                    if (!job.ok()) return job.status();
                    if (auto s = SameJob("evaluation.job_id", req->evaluation().job_id(), *job); !s.ok()) return s;
                    if (auto s = results_->PutEvaluation(req->evaluation()); !s.ok()) return s;
                    return v1::PutEvaluationResponse();
                  });
}

}  // namespace nmoe::coordinator
