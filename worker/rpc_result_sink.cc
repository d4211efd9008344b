#include "worker/rpc_result_sink.h"

#include <thread>

#include "absl/strings/str_cat.h"

namespace nmoe::worker {

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

RpcResultSink::RpcResultSink(cli::Client* client, std::function<std::string()> worker_id, std::string task_id,
                             absl::Duration retry_budget, BackoffOptions backoff)
    : client_(client),
      worker_id_(std::move(worker_id)),
      task_id_(std::move(task_id)),
      retry_budget_(retry_budget),
      backoff_(backoff) {}

template <typename Call>
auto RpcResultSink::Retry(Call&& call) -> decltype(call()) {
  Backoff backoff(backoff_);
  const absl::Time give_up = absl::Now() + retry_budget_;
  while (true) {
    auto result = call();
    if (result.ok() || !IsTransient(result.status())) return result;
    const absl::Duration delay = backoff.Next();
    if (absl::Now() + delay > give_up) {
      return absl::UnavailableError(absl::StrCat("coordinator unreachable for ", absl::FormatDuration(retry_budget_),
                                                 ": ", result.status().message()));
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(delay));
  }
}

absl::Status RpcResultSink::PutNeuronStats(const std::vector<v1::NeuronStat>& stats) {
  v1::PutNeuronStatsRequest request;
  request.set_task_id(task_id_);
  for (const auto& s : stats) *request.add_stats() = s;
  return Retry([&] {
    request.set_worker_id(worker_id_());
    return client_->Call(client_->workers(), &v1::WorkerService::Stub::PutNeuronStats, request);
  }).status();
}

absl::Status RpcResultSink::PutProfileSummary(const v1::ProfileSummary& summary) {
  v1::PutProfileSummaryRequest request;
  request.set_task_id(task_id_);
  *request.mutable_summary() = summary;
  return Retry([&] {
    request.set_worker_id(worker_id_());
    return client_->Call(client_->workers(), &v1::WorkerService::Stub::PutProfileSummary, request);
  }).status();
}

absl::Status RpcResultSink::PutPlan(const v1::Plan& plan) {
  v1::PutPlanRequest request;
  request.set_task_id(task_id_);
  *request.mutable_plan() = plan;
  return Retry([&] {
    request.set_worker_id(worker_id_());
    return client_->Call(client_->workers(), &v1::WorkerService::Stub::PutPlan, request);
  }).status();
}

absl::Status RpcResultSink::PutEvaluation(const v1::Evaluation& evaluation) {
  v1::PutEvaluationRequest request;
  request.set_task_id(task_id_);
  *request.mutable_evaluation() = evaluation;
  return Retry([&] {
    request.set_worker_id(worker_id_());
    return client_->Call(client_->workers(), &v1::WorkerService::Stub::PutEvaluation, request);
  }).status();
}

template <typename Record, typename Request, typename Method>
absl::StatusOr<std::optional<Record>> RpcResultSink::Read(Method method, const Request& request) {
  auto record = Retry([&] { return client_->Call(client_->results(), method, request); });
  if (absl::IsNotFound(record.status())) return std::optional<Record>();
  if (!record.ok()) return record.status();
  return std::optional<Record>(*std::move(record));
}

absl::StatusOr<std::optional<v1::ProfileSummary>> RpcResultSink::GetProfileSummary(const std::string& job_id) {
  v1::GetProfileSummaryRequest request;
  request.set_job_id(job_id);
  return Read<v1::ProfileSummary>(&v1::ResultsService::Stub::GetProfileSummary, request);
}

absl::StatusOr<std::optional<v1::Plan>> RpcResultSink::GetPlan(const std::string& plan_id) {
  v1::GetPlanRequest request;
  request.set_plan_id(plan_id);
  return Read<v1::Plan>(&v1::ResultsService::Stub::GetPlan, request);
}

absl::StatusOr<std::optional<v1::Evaluation>> RpcResultSink::GetEvaluation(const std::string& job_id) {
  v1::GetEvaluationRequest request;
  request.set_job_id(job_id);
  return Read<v1::Evaluation>(&v1::ResultsService::Stub::GetEvaluation, request);
}

}  // namespace nmoe::worker
