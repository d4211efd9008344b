// Where tasks put their stored results (neuron statistics, profile summaries,
// plans, evaluations) and read the results of the jobs they build on. Under nmoe-worker the
// coordinator's RocksDB holds them (over RPC); under nmoe-run a RocksDB in the
// work dir (storage/store_result_sink.h). Tasks never know which.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe {

class ResultSink {
 public:
  virtual ~ResultSink() = default;

  // Writes are durable when they return OK; writing the same key again replaces it
  // (a restarted attempt rewrites its results). Stats may come in any number of
  // batches; callers keep batches to a few MB.
  virtual absl::Status PutNeuronStats(const std::vector<v1::NeuronStat>& stats) = 0;
  virtual absl::Status PutProfileSummary(const v1::ProfileSummary& summary) = 0;
  virtual absl::Status PutPlan(const v1::Plan& plan) = 0;
  virtual absl::Status PutEvaluation(const v1::Evaluation& evaluation) = 0;

  // nullopt when absent.
  virtual absl::StatusOr<std::optional<v1::ProfileSummary>> GetProfileSummary(const std::string& job_id) = 0;
  virtual absl::StatusOr<std::optional<v1::Plan>> GetPlan(const std::string& plan_id) = 0;
  virtual absl::StatusOr<std::optional<v1::Evaluation>> GetEvaluation(const std::string& job_id) = 0;
};

}  // namespace nmoe
