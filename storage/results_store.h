// Typed access to allocation plans and per-neuron statistics.
//
// Layout in Table::kNeurons (all integers big-endian, see keys.h):
//   "s/" job "/" criterion(u8) language "\0" layer(u32) component(u8) index(u32) -> NeuronStat
//   "r/" job "/" criterion(u8) language "\0" rank(u32)                          -> NeuronStat (selected)
//   "m/" job                                                                   -> ProfileSummary
// Table::kPlans: "p/" plan_id -> Plan; "j/" job_id "/" plan_id -> "" (index by job).
// Table::kEvaluations: "e/" job_id -> Evaluation; "r/" job_id -> Report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nmoe/v1/results_service.pb.h"
#include "storage/kv_store.h"

namespace nmoe::storage {

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

class ResultsStore {
 public:
  explicit ResultsStore(KvStore* kv) : kv_(kv) {}

  absl::Status PutPlan(const v1::Plan& plan);
  absl::StatusOr<std::optional<v1::Plan>> GetPlan(const std::string& plan_id);
  // Newest first. job_id empty = all plans. INVALID_ARGUMENT for a bad token.
  absl::StatusOr<Page<v1::Plan>> ListPlans(const std::string& job_id, size_t page_size,
                                           const std::string& page_token);

  // Stores statistics (selected ones, rank > 0, are also indexed by rank).
  absl::Status PutNeuronStats(const std::vector<v1::NeuronStat>& stats);
  absl::Status PutProfileSummary(const v1::ProfileSummary& summary);
  absl::StatusOr<std::optional<v1::ProfileSummary>> GetProfileSummary(const std::string& job_id);

  // One evaluation and one report per job; writing again replaces it.
  absl::Status PutEvaluation(const v1::Evaluation& evaluation);
  absl::StatusOr<std::optional<v1::Evaluation>> GetEvaluation(const std::string& job_id);
  absl::Status PutReport(const v1::Report& report);
  absl::StatusOr<std::optional<v1::Report>> GetReport(const std::string& job_id);

  // Answers a validated query (job_id and language set). INVALID_ARGUMENT for a bad token.
  absl::StatusOr<Page<v1::NeuronStat>> QueryNeurons(const v1::QueryNeuronsRequest& request, size_t page_size);

 private:
  KvStore* kv_;
};

}  // namespace nmoe::storage
