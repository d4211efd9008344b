#include "absl/strings/str_cat.h"
#include "common/paging.h"
#include "common/job_validation.h"
#include "coordinator/services.h"
#include "coordinator/unary_call.h"

namespace nmoe::coordinator {
grpc::ServerUnaryReactor* ResultsServiceImpl::GetPlan(grpc::CallbackServerContext* ctx, const v1::GetPlanRequest* req,
                                                      v1::Plan* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.ResultsService.GetPlan", resp, [&]() -> absl::StatusOr<v1::Plan> {
    auto plan = results_->GetPlan(req->plan_id());
    if (!plan.ok()) return plan.status();
    if (!plan->has_value()) return absl::NotFoundError(absl::StrCat("plan ", req->plan_id(), " not found"));
    return std::move(**plan);
  });
}

grpc::ServerUnaryReactor* ResultsServiceImpl::ListPlans(grpc::CallbackServerContext* ctx,
                                                        const v1::ListPlansRequest* req, v1::ListPlansResponse* resp) {
  return RunUnary(
      ctx, *auth_, "nmoe.v1.ResultsService.ListPlans", resp, [&]() -> absl::StatusOr<v1::ListPlansResponse> {
        auto page = results_->ListPlans(req->job_id(), ClampPageSize(req->page_size(), 100, 1000), req->page_token());
        if (!page.ok()) return page.status();
        v1::ListPlansResponse r;
        for (auto& plan : page->items) *r.add_plans() = std::move(plan);
        r.set_next_page_token(page->next_page_token);
        return r;
      });
}

grpc::ServerUnaryReactor* ResultsServiceImpl::QueryNeurons(grpc::CallbackServerContext* ctx,
                                                           const v1::QueryNeuronsRequest* req,
                                                           v1::QueryNeuronsResponse* resp) {
  return RunUnary(
      ctx, *auth_, "nmoe.v1.ResultsService.QueryNeurons", resp, [&]() -> absl::StatusOr<v1::QueryNeuronsResponse> {
        if (req->job_id().empty()) return absl::InvalidArgumentError("job_id: is required");
        if (!IsLanguageCode(req->language())) {
          return absl::InvalidArgumentError(absl::StrCat("language: '", req->language(), "' is not a language code"));
        }
        if (!v1::NeuronCriterion_IsValid(req->criterion()))
          return absl::InvalidArgumentError("criterion: unknown value");
        if (!v1::Component_IsValid(req->component())) return absl::InvalidArgumentError("component: unknown value");
        if (req->top_n() > 0 && !req->selected_only()) {
          return absl::InvalidArgumentError("top_n: needs selected_only (ranks exist only for selected neurons)");
        }
        auto page = results_->QueryNeurons(*req, ClampPageSize(req->page_size(), 1000, 10000));
        if (!page.ok()) return page.status();
        v1::QueryNeuronsResponse r;
        for (auto& n : page->items) *r.add_neurons() = std::move(n);
        r.set_next_page_token(page->next_page_token);
        return r;
      });
}

grpc::ServerUnaryReactor* ResultsServiceImpl::GetProfileSummary(grpc::CallbackServerContext* ctx,
                                                                const v1::GetProfileSummaryRequest* req,
                                                                v1::ProfileSummary* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.ResultsService.GetProfileSummary", resp,
                  [&]() -> absl::StatusOr<v1::ProfileSummary> {
                    auto summary = results_->GetProfileSummary(req->job_id());
                    if (!summary.ok()) return summary.status();
                    if (!summary->has_value()) {
                      return absl::NotFoundError(absl::StrCat("no profile summary for job ", req->job_id()));
                    }
                    return std::move(**summary);
                  });
}

grpc::ServerUnaryReactor* ResultsServiceImpl::GetEvaluation(grpc::CallbackServerContext* ctx,
                                                            const v1::GetEvaluationRequest* req,
                                                            v1::Evaluation* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.ResultsService.GetEvaluation", resp, [&]() -> absl::StatusOr<v1::Evaluation> {
    auto evaluation = results_->GetEvaluation(req->job_id());
    if (!evaluation.ok()) return evaluation.status();
    if (!evaluation->has_value()) return absl::NotFoundError(absl::StrCat("no evaluation for job ", req->job_id()));
    return std::move(**evaluation);
  });
}

grpc::ServerUnaryReactor* ResultsServiceImpl::GetReport(grpc::CallbackServerContext* ctx,
                                                        const v1::GetReportRequest* req, v1::Report* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.ResultsService.GetReport", resp, [&]() -> absl::StatusOr<v1::Report> {
    auto report = results_->GetReport(req->job_id());
    if (!report.ok()) return report.status();
    if (!report->has_value()) {
      return absl::NotFoundError(absl::StrCat("no report for job ", req->job_id(), " (pipelines have one once they finish)"));
    }
    return std::move(**report);
  });
}

grpc::ServerUnaryReactor* InfoServiceImpl::GetServerInfo(grpc::CallbackServerContext* ctx,
                                                         const v1::GetServerInfoRequest* req, v1::ServerInfo* resp) {
  return RunUnary(ctx, *auth_, "nmoe.v1.InfoService.GetServerInfo", resp,
                  [&]() -> absl::StatusOr<v1::ServerInfo> { return info_; });
}

}  // namespace nmoe::coordinator
