// Fuzzes the decoding of records read back from the coordinator's database:
// arbitrary (table, key, value) records are written into a MemoryStore (the
// same KvStore contract as RocksDbStore), then everything that reads stored
// records runs over them: ControlPlane::Recover (a coordinator restart), a
// few client and worker calls on the recovered state, PipelineDriver::Step
// (pipelines continue from stored jobs alone), and the typed JobStore and
// ResultsStore reads, including client page tokens.
//
// Input: records, each  table (1 byte, mod Table::kCount) | key length (1 byte)
// | key | value length (2 bytes, little-endian) | value; a cut-off last record
// is dropped. Contract checked: no crash; reads fail only with a Status.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "coordinator/control_plane.h"
#include "coordinator/pipeline_driver.h"
#include "fuzz/fuzz_check.h"
#include "spdlog/spdlog.h"
#include "storage/job_store.h"
#include "storage/memory_store.h"
#include "storage/results_store.h"

namespace {

namespace st = nmoe::storage;
namespace v1 = nmoe::v1;

// Splits the input into records; false when it runs out.
class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool Next(st::Table* table, std::string* key, std::string* value) {
    if (in_.size() < 2) return false;
    *table = static_cast<st::Table>(static_cast<uint8_t>(in_[0]) % static_cast<int>(st::Table::kCount));
    const size_t key_len = static_cast<uint8_t>(in_[1]);
    if (in_.size() < 2 + key_len + 2) return false;
    *key = std::string(in_.substr(2, key_len));
    const size_t value_len = static_cast<uint8_t>(in_[2 + key_len]) | (static_cast<uint8_t>(in_[3 + key_len]) << 8);
    if (in_.size() < 4 + key_len + value_len) return false;
    *value = std::string(in_.substr(4 + key_len, value_len));
    in_.remove_prefix(4 + key_len + value_len);
    return true;
  }

 private:
  std::string_view in_;
};

void ReadTyped(st::KvStore& kv, const std::set<std::string>& keys) {
  st::JobStore jobs(&kv);
  std::set<std::string> job_ids;
  (void)jobs.ForEachJob([&](v1::Job job) {
    job_ids.insert(job.id());
    return absl::OkStatus();
  });
  (void)jobs.ForEachWorker([](v1::Worker) { return absl::OkStatus(); });
  st::ResultsStore results(&kv);
  // Stored keys double as ids and page tokens (clients send tokens back verbatim).
  for (const std::string& key : keys) {
    if (job_ids.size() < 8) job_ids.insert(key);
    (void)results.ListPlans("", 5, key);
    (void)results.GetPlan(key);
  }
  for (const std::string& id : job_ids) {
    (void)jobs.ListEvents(id, 0, 10);
    (void)jobs.GetJob(id);
    (void)results.ListPlans(id, 5, "");
    (void)results.GetProfileSummary(id);
    (void)results.GetEvaluation(id);
    (void)results.GetReport(id);
    for (const bool selected : {false, true}) {
      v1::QueryNeuronsRequest query;
      query.set_job_id(id);
      query.set_language("en");
      query.set_selected_only(selected);
      (void)results.QueryNeurons(query, 5);
    }
  }
}

void RunCoordinator(st::KvStore& kv) {
  nmoe::FakeClock clock;
  absl::StatusOr<std::unique_ptr<nmoe::coordinator::ControlPlane>> cp =
      nmoe::coordinator::ControlPlane::Recover(&kv, &clock, {}, nullptr);
  if (!cp.ok()) return;
  st::ResultsStore results(&kv);
  nmoe::coordinator::PipelineDriver driver(cp->get(), &results);
  driver.Step();
  (void)(*cp)->ListJobs(v1::ListJobsRequest());
  (void)(*cp)->ListWorkers();
  absl::StatusOr<v1::RegisterWorkerResponse> worker = (*cp)->RegisterWorker(v1::RegisterWorkerRequest());
  if (worker.ok()) {
    v1::LeaseTaskRequest lease;
    lease.set_worker_id(worker->worker_id());
    (void)(*cp)->LeaseTask(lease);
  }
  for (const v1::Job& job : (*cp)->ActivePipelines()) (void)(*cp)->GetJob(job.id());
  clock.Advance(absl::Minutes(5));
  (*cp)->Tick();
  driver.Step();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the driver logs every retried error
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RecordReader reader(std::string_view(reinterpret_cast<const char*>(data), size));
  st::WriteBatch batch;
  std::set<std::string> keys;
  st::Table table;
  std::string key, value;
  while (reader.Next(&table, &key, &value)) {
    keys.insert(key);
    batch.Put(table, key, value);
  }
  st::MemoryStore kv;
  NMOE_FUZZ_CHECK(kv.Write(batch, true).ok());
  ReadTyped(kv, keys);
  RunCoordinator(kv);
  return 0;
}
