#include "storage/job_store.h"

#include "absl/strings/str_cat.h"
#include "storage/keys.h"
#include "storage/proto_codec.h"

namespace nmoe::storage {
namespace {

std::string IdempotencyKey(const std::string& key) { return absl::StrCat("idem/", key); }

}  // namespace

void JobStore::AddJobAndEvents(WriteBatch& batch, const v1::Job& job,
                               const std::vector<v1::JobEvent>& events) {
  batch.Put(Table::kJobs, job.id(), job.SerializeAsString());
  for (const auto& event : events) {
    batch.Put(Table::kEvents, EventKey(job.id(), event.seq()), event.SerializeAsString());
  }
}

absl::Status JobStore::CreateJob(const v1::Job& job, const std::vector<v1::JobEvent>& events, bool sync) {
  WriteBatch batch;
  AddJobAndEvents(batch, job, events);
  if (!job.idempotency_key().empty()) {
    batch.Put(Table::kMeta, IdempotencyKey(job.idempotency_key()), job.id());
  }
  return kv_->Write(batch, sync);
}

absl::Status JobStore::UpdateJob(const v1::Job& job, const std::vector<v1::JobEvent>& events, bool sync) {
  WriteBatch batch;
  AddJobAndEvents(batch, job, events);
  return kv_->Write(batch, sync);
}

absl::Status JobStore::DeleteJobs(const std::vector<v1::Job>& jobs, bool sync) {
  WriteBatch batch;
  for (const auto& job : jobs) {
    batch.Delete(Table::kJobs, job.id());
    const std::string prefix = EventPrefix(job.id());
    batch.DeleteRange(Table::kEvents, prefix, PrefixEnd(prefix));
    if (!job.idempotency_key().empty()) batch.Delete(Table::kMeta, IdempotencyKey(job.idempotency_key()));
  }
  if (batch.empty()) return absl::OkStatus();
  return kv_->Write(batch, sync);
}

absl::StatusOr<std::optional<v1::Job>> JobStore::GetJob(const std::string& job_id) {
  auto bytes = kv_->Get(Table::kJobs, job_id);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<v1::Job>();
  v1::Job job;
  if (auto s = DecodeRecord(**bytes, "jobs", job_id, job); !s.ok()) return s;
  return std::optional<v1::Job>(std::move(job));
}

absl::Status JobStore::ForEachJob(const std::function<absl::Status(v1::Job)>& visit) {
  absl::Status result;
  auto scan = kv_->Scan(Table::kJobs, {}, [&](std::string_view key, std::string_view value) {
    v1::Job job;
    result = DecodeRecord(value, "jobs", key, job);
    if (result.ok()) result = visit(std::move(job));
    return result.ok();
  });
  return result.ok() ? scan : result;
}

absl::StatusOr<std::optional<std::string>> JobStore::FindJobByIdempotencyKey(const std::string& key) {
  return kv_->Get(Table::kMeta, IdempotencyKey(key));
}

absl::StatusOr<std::vector<v1::JobEvent>> JobStore::ListEvents(const std::string& job_id, uint64_t from_seq,
                                                               size_t limit) {
  std::vector<v1::JobEvent> events;
  ScanOptions options;
  options.start = EventKey(job_id, from_seq);
  options.end = PrefixEnd(EventPrefix(job_id));
  options.limit = limit;
  absl::Status decode;
  auto scan = kv_->Scan(Table::kEvents, options, [&](std::string_view key, std::string_view value) {
    v1::JobEvent event;
    decode = DecodeRecord(value, "events", key, event);
    if (!decode.ok()) return false;
    events.push_back(std::move(event));
    return true;
  });
  if (!decode.ok()) return decode;
  if (!scan.ok()) return scan;
  return events;
}

absl::Status JobStore::PutWorker(const v1::Worker& worker, bool sync) {
  WriteBatch batch;
  batch.Put(Table::kWorkers, worker.id(), worker.SerializeAsString());
  return kv_->Write(batch, sync);
}

absl::Status JobStore::ForEachWorker(const std::function<absl::Status(v1::Worker)>& visit) {
  absl::Status result;
  auto scan = kv_->Scan(Table::kWorkers, {}, [&](std::string_view key, std::string_view value) {
    v1::Worker worker;
    result = DecodeRecord(value, "workers", key, worker);
    if (result.ok()) result = visit(std::move(worker));
    return result.ok();
  });
  return result.ok() ? scan : result;
}

}  // namespace nmoe::storage
