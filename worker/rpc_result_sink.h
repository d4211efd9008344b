// ResultSink over the coordinator: writes go through WorkerService.Put* under
// the task's lease, reads through ResultsService. A call that finds the
// coordinator unreachable (UNAVAILABLE, DEADLINE_EXCEEDED) is retried with
// backoff for up to `retry_budget`; other errors return at once.
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "cli/client.h"
#include "common/result_sink.h"
#include "worker/backoff.h"

namespace nmoe::worker {

class RpcResultSink final : public ResultSink {
 public:
  // `client` must outlive the sink. `worker_id` returns the worker's current id
  // (it can change when the worker registers again).
  RpcResultSink(cli::Client* client, std::function<std::string()> worker_id, std::string task_id,
                absl::Duration retry_budget = absl::Minutes(2), BackoffOptions backoff = {});

  absl::Status PutNeuronStats(const std::vector<v1::NeuronStat>& stats) override;
  absl::Status PutProfileSummary(const v1::ProfileSummary& summary) override;
  absl::Status PutPlan(const v1::Plan& plan) override;
  absl::Status PutEvaluation(const v1::Evaluation& evaluation) override;
  absl::StatusOr<std::optional<v1::ProfileSummary>> GetProfileSummary(const std::string& job_id) override;
  absl::StatusOr<std::optional<v1::Plan>> GetPlan(const std::string& plan_id) override;
  absl::StatusOr<std::optional<v1::Evaluation>> GetEvaluation(const std::string& job_id) override;

 private:
  // Runs `call` until it returns something other than a transient error or the budget is spent.
  template <typename Call>
  auto Retry(Call&& call) -> decltype(call());
  // A ResultsService read with retries; NOT_FOUND becomes nullopt.
  template <typename Record, typename Request, typename Method>
  absl::StatusOr<std::optional<Record>> Read(Method method, const Request& request);

  cli::Client* client_;
  std::function<std::string()> worker_id_;
  const std::string task_id_;
  const absl::Duration retry_budget_;
  const BackoffOptions backoff_;
};

// True for the codes a lost or restarting coordinator produces.
bool IsTransient(const absl::Status& status);

}  // namespace nmoe::worker
