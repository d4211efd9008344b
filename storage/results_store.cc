#include "storage/results_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/keys.h"
#include "storage/proto_codec.h"

namespace nmoe::storage {
namespace {

std::string PlanKey(const std::string& plan_id) { return "p/" + plan_id; }
std::string PlanByJobPrefix(const std::string& job_id) { return "j/" + job_id + "/"; }

std::string LanguagePrefix(char kind, const std::string& job_id, v1::NeuronCriterion criterion,
                           const std::string& language) {
  std::string key = absl::StrCat(std::string(1, kind), "/", job_id, "/");
  key.push_back(static_cast<char>(criterion));
  key.append(language);
  key.push_back('\0');
  return key;
}

std::string StatKey(const v1::NeuronStat& s) {
  std::string key = LanguagePrefix('s', s.job_id(), s.criterion(), s.language());
  AppendU32(key, s.layer());
  key.push_back(static_cast<char>(s.component()));
  AppendU32(key, s.index());
  return key;
}

std::string RankKey(const v1::NeuronStat& s) {
  std::string key = LanguagePrefix('r', s.job_id(), s.criterion(), s.language());
  AppendU32(key, s.rank());
  return key;
}

std::string EncodeToken(const std::string& key) { return absl::BytesToHexString(key); }

// The key a page token stands for; it must lie inside [lo, hi).
absl::StatusOr<std::string> DecodeToken(const std::string& token, std::string_view lo, std::string_view hi) {
  bool hex = token.size() % 2 == 0;
  for (char c : token) hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!hex) return absl::InvalidArgumentError("page_token: not a token this server issued");
  std::string key = absl::HexStringToBytes(token);
  if (key < lo || (!hi.empty() && key >= hi)) {
    return absl::InvalidArgumentError("page_token: does not belong to this query");
  }
  return key;
}


// The record under `key`, nullopt when absent, DATA_LOSS naming the key when undecodable.
template <typename Record>
absl::StatusOr<std::optional<Record>> GetRecord(KvStore* kv, Table table, const std::string& key) {
  auto bytes = kv->Get(table, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<Record>();
  Record record;
  if (auto s = DecodeRecord(**bytes, TableName(table), key, record); !s.ok()) return s;
  return std::optional<Record>(std::move(record));
}

}  // namespace

absl::Status ResultsStore::PutPlan(const v1::Plan& plan) {
  WriteBatch batch;
  batch.Put(Table::kPlans, PlanKey(plan.id()), plan.SerializeAsString());
  batch.Put(Table::kPlans, absl::StrCat(PlanByJobPrefix(plan.job_id()), plan.id()), "");
  return kv_->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::optional<v1::Plan>> ResultsStore::GetPlan(const std::string& plan_id) {
  return GetRecord<v1::Plan>(kv_, Table::kPlans, PlanKey(plan_id));
}

absl::StatusOr<Page<v1::Plan>> ResultsStore::ListPlans(const std::string& job_id, size_t page_size,
                                                       const std::string& page_token) {
  // Scan the plan ids (of one job, or all) newest first; fetch each plan.
  const std::string prefix = job_id.empty() ? "p/" : PlanByJobPrefix(job_id);
  ScanOptions options;
  options.start = prefix;
  options.end = PrefixEnd(prefix);
  options.reverse = true;
  options.limit = page_size + 1;
  if (!page_token.empty()) {
    auto key = DecodeToken(page_token, options.start, options.end);
    if (!key.ok()) return key.status();
    options.end = *key + '\0';  // resume at `key` inclusive when scanning down
  }
  std::vector<std::string> ids;
  std::string next_key;
  auto scan = kv_->Scan(Table::kPlans, options, [&](std::string_view key, std::string_view) {
    if (ids.size() == page_size) {
      next_key = std::string(key);
      return false;
    }
    ids.emplace_back(key.substr(prefix.size()));
    return true;
  });
  if (!scan.ok()) return scan;
  Page<v1::Plan> page;
  for (const auto& id : ids) {
    auto plan = GetPlan(id);
    if (!plan.ok()) return plan.status();
    if (plan->has_value()) page.items.push_back(std::move(**plan));
  }
  if (!next_key.empty()) page.next_page_token = EncodeToken(next_key);
  return page;
}

absl::Status ResultsStore::PutNeuronStats(const std::vector<v1::NeuronStat>& stats) {
  WriteBatch batch;
  for (const auto& s : stats) {
    const std::string bytes = s.SerializeAsString();
    batch.Put(Table::kNeurons, StatKey(s), bytes);
    if (s.selected() && s.rank() > 0) batch.Put(Table::kNeurons, RankKey(s), bytes);
  }
  return kv_->Write(batch, /*sync=*/true);
}

absl::Status ResultsStore::PutProfileSummary(const v1::ProfileSummary& summary) {
  WriteBatch batch;
  batch.Put(Table::kNeurons, absl::StrCat("m/", summary.job_id()), summary.SerializeAsString());
  return kv_->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::optional<v1::ProfileSummary>> ResultsStore::GetProfileSummary(const std::string& job_id) {
  return GetRecord<v1::ProfileSummary>(kv_, Table::kNeurons, absl::StrCat("m/", job_id));
}

absl::Status ResultsStore::PutEvaluation(const v1::Evaluation& evaluation) {
  WriteBatch batch;
  batch.Put(Table::kEvaluations, absl::StrCat("e/", evaluation.job_id()), evaluation.SerializeAsString());
  return kv_->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::optional<v1::Evaluation>> ResultsStore::GetEvaluation(const std::string& job_id) {
  return GetRecord<v1::Evaluation>(kv_, Table::kEvaluations, absl::StrCat("e/", job_id));
}

absl::Status ResultsStore::PutReport(const v1::Report& report) {
  WriteBatch batch;
  batch.Put(Table::kEvaluations, absl::StrCat("r/", report.job_id()), report.SerializeAsString());
  return kv_->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::optional<v1::Report>> ResultsStore::GetReport(const std::string& job_id) {
  return GetRecord<v1::Report>(kv_, Table::kEvaluations, absl::StrCat("r/", job_id));
}

absl::StatusOr<Page<v1::NeuronStat>> ResultsStore::QueryNeurons(const v1::QueryNeuronsRequest& request,
                                                                size_t page_size) {
  const v1::NeuronCriterion criterion =
      request.criterion() == v1::NEURON_CRITERION_UNSPECIFIED ? v1::NEURON_CRITERION_AP : request.criterion();
  std::string prefix = LanguagePrefix(request.selected_only() ? 'r' : 's', request.job_id(), criterion,
                                      request.language());
  // Without selected_only, a layer narrows the scan to that layer's keys.
  if (!request.selected_only() && request.has_layer()) AppendU32(prefix, request.layer());
  ScanOptions options;
  options.start = prefix;
  options.end = PrefixEnd(prefix);
  if (request.selected_only() && request.top_n() > 0) {
    std::string end = LanguagePrefix('r', request.job_id(), criterion, request.language());
    AppendU32(end, request.top_n() + 1);
    options.end = end;
  }
  if (!request.page_token().empty()) {
    auto key = DecodeToken(request.page_token(), options.start, options.end);
    if (!key.ok()) return key.status();
    options.start = *key;
  }
  Page<v1::NeuronStat> page;
  absl::Status decode;
  std::string next_key;
  auto scan = kv_->Scan(Table::kNeurons, options, [&](std::string_view key, std::string_view value) {
    v1::NeuronStat stat;
    decode = DecodeRecord(value, "neurons", key, stat);
    if (!decode.ok()) return false;
    if (request.has_layer() && stat.layer() != request.layer()) return true;
    if (request.component() != v1::COMPONENT_UNSPECIFIED && stat.component() != request.component()) return true;
    if (page.items.size() == page_size) {
      next_key = std::string(key);
      return false;
    }
    page.items.push_back(std::move(stat));
    return true;
  });
  if (!decode.ok()) return decode;
  if (!scan.ok()) return scan;
  if (!next_key.empty()) page.next_page_token = EncodeToken(next_key);
  return page;
}

}  // namespace nmoe::storage
