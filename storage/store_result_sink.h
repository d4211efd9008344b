// ResultSink over a ResultsStore: the coordinator's own store, or a RocksDB that
// `nmoe-run` opens in its work dir.
#pragma once

#include <memory>
#include <string>

#include "common/result_sink.h"
#include "storage/results_store.h"

namespace nmoe::storage {

class StoreResultSink final : public ResultSink {
 public:
  // `kv` must outlive the sink; writes are synced.
  explicit StoreResultSink(KvStore* kv) : results_(kv) {}

  // Opens (creating) a RocksDB at `path` owned by the returned sink.
  static absl::StatusOr<std::unique_ptr<StoreResultSink>> OpenLocal(const std::string& path);

  absl::Status PutNeuronStats(const std::vector<v1::NeuronStat>& stats) override;
  absl::Status PutProfileSummary(const v1::ProfileSummary& summary) override;
  absl::Status PutPlan(const v1::Plan& plan) override;
  absl::Status PutEvaluation(const v1::Evaluation& evaluation) override;
  absl::StatusOr<std::optional<v1::ProfileSummary>> GetProfileSummary(const std::string& job_id) override;
  absl::StatusOr<std::optional<v1::Plan>> GetPlan(const std::string& plan_id) override;
  absl::StatusOr<std::optional<v1::Evaluation>> GetEvaluation(const std::string& job_id) override;

 private:
  std::unique_ptr<KvStore> owned_;  // OpenLocal's database; declared first, destroyed last
  ResultsStore results_;
};

}  // namespace nmoe::storage
