#include "storage/store_result_sink.h"

#include "common/status_macros.h"
#include "storage/rocksdb_store.h"

namespace nmoe::storage {

absl::StatusOr<std::unique_ptr<StoreResultSink>> StoreResultSink::OpenLocal(const std::string& path) {
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbStore> db, RocksDbStore::Open(path));
  KvStore* kv = db.get();
  auto sink = std::make_unique<StoreResultSink>(kv);
  sink->owned_ = std::move(db);
  return sink;
}

absl::Status StoreResultSink::PutNeuronStats(const std::vector<v1::NeuronStat>& stats) {
  return results_.PutNeuronStats(stats);
}

absl::Status StoreResultSink::PutProfileSummary(const v1::ProfileSummary& summary) {
  return results_.PutProfileSummary(summary);
}

absl::Status StoreResultSink::PutPlan(const v1::Plan& plan) { return results_.PutPlan(plan); }

absl::Status StoreResultSink::PutEvaluation(const v1::Evaluation& evaluation) {
  return results_.PutEvaluation(evaluation);
}

absl::StatusOr<std::optional<v1::Evaluation>> StoreResultSink::GetEvaluation(const std::string& job_id) {
  return results_.GetEvaluation(job_id);
}

absl::StatusOr<std::optional<v1::ProfileSummary>> StoreResultSink::GetProfileSummary(const std::string& job_id) {
  return results_.GetProfileSummary(job_id);
}

absl::StatusOr<std::optional<v1::Plan>> StoreResultSink::GetPlan(const std::string& plan_id) {
  return results_.GetPlan(plan_id);
}

}  // namespace nmoe::storage
