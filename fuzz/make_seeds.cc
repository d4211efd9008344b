// Writes the binary seed corpora of fuzz/corpus/ from real inputs (run by hand after
// a proto or storage change; fuzz/README.md):
//   job_spec/       every examples/jobs/*.yaml as a serialized JobSpec (first byte 0)
//                   and as a SubmitJobRequest (first byte 1)
//   stored_records/ the records a coordinator stores for those jobs (submitted, one
//                   leased, progressed and completed; a plan, a profile summary and
//                   neuron statistics), in the fuzzer's record format
// Usage: fuzz_make_seeds SOURCE_DIR   (writes SOURCE_DIR/fuzz/corpus/...)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "cli/job_file.h"
#include "common/clock.h"
#include "coordinator/control_plane.h"
#include "storage/memory_store.h"
#include "storage/results_store.h"

namespace fs = std::filesystem;
namespace st = nmoe::storage;
namespace v1 = nmoe::v1;

namespace {

void WriteFile(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// The fuzzer's record format (stored_records_fuzzer.cc); keys over 255 bytes and values
// over 65535 bytes are skipped.
std::string DumpStore(st::KvStore& kv) {
  std::string out;
  for (int t = 0; t < static_cast<int>(st::Table::kCount); ++t) {
    (void)kv.Scan(static_cast<st::Table>(t), {}, [&](std::string_view key, std::string_view value) {
      if (key.size() > 255 || value.size() > 65535) return true;
      out.push_back(static_cast<char>(t));
      out.push_back(static_cast<char>(key.size()));
      out.append(key);
      out.push_back(static_cast<char>(value.size() & 0xff));
      out.push_back(static_cast<char>(value.size() >> 8));
      out.append(value);
      return true;
    });
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds SOURCE_DIR\n";
    return 2;
  }
  const fs::path source = argv[1];
  const fs::path corpus = source / "fuzz" / "corpus";
  nmoe::FakeClock clock;
  st::MemoryStore kv;
  auto cp = nmoe::coordinator::ControlPlane::Recover(&kv, &clock, {}, nullptr);
  if (!cp.ok()) {
    std::cerr << cp.status() << "\n";
    return 1;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(source / "examples" / "jobs")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    absl::StatusOr<v1::JobSpec> spec = nmoe::cli::ReadJobFile(file.string());
    if (!spec.ok()) {
      std::cerr << spec.status() << "\n";
      return 1;
    }
    const std::string stem = file.stem().string();
    WriteFile(corpus / "job_spec" / (stem + ".spec"), std::string(1, '\0') + spec->SerializeAsString());
    v1::SubmitJobRequest request;
    *request.mutable_spec() = *spec;
    request.set_idempotency_key("seed-" + stem);
    WriteFile(corpus / "job_spec" / (stem + ".submit"), std::string(1, '\1') + request.SerializeAsString());
    absl::StatusOr<v1::SubmitJobResponse> submitted = (*cp)->SubmitJob(request);
    if (!submitted.ok()) std::cerr << stem << ": " << submitted.status() << "\n";
  }
  // One job through a worker: registered, leased, progressed, completed.
  v1::RegisterWorkerRequest reg;
  reg.mutable_capabilities()->set_hostname("seed-host");
  absl::StatusOr<v1::RegisterWorkerResponse> worker = (*cp)->RegisterWorker(reg);
  if (worker.ok()) {
    v1::LeaseTaskRequest lease;
    lease.set_worker_id(worker->worker_id());
    absl::StatusOr<v1::LeaseTaskResponse> task = (*cp)->LeaseTask(lease);
    if (task.ok() && task->has_task()) {
      v1::ReportProgressRequest progress;
      progress.set_worker_id(worker->worker_id());
      progress.set_task_id(task->task().id());
      progress.mutable_progress()->set_stage("seed");
      progress.mutable_progress()->set_done(3);
      (void)(*cp)->ReportProgress(progress);
      v1::CompleteTaskRequest done;
      done.set_worker_id(worker->worker_id());
      done.set_task_id(task->task().id());
      (void)(*cp)->CompleteTask(done);
    }
  }
  WriteFile(corpus / "stored_records" / "jobs_and_worker.rec", DumpStore(kv));

  // Results of a profile and an allocation, in a store of their own.
  st::MemoryStore results_kv;
  st::ResultsStore results(&results_kv);
  v1::Plan plan;
  plan.set_id("plan-seed");
  plan.set_job_id("job-seed-allocate");
  plan.set_profile_job_id("job-seed-profile");
  for (const uint32_t n : {1u, 2u, 4u, 1u}) plan.add_experts_per_layer(n);
  plan.set_total_experts(8);
  (void)results.PutPlan(plan);
  v1::ProfileSummary summary;
  summary.set_job_id("job-seed-profile");
  summary.set_num_layers(4);
  summary.set_hidden_size(64);
  summary.set_intermediate_size(128);
  (void)results.PutProfileSummary(summary);
  std::vector<v1::NeuronStat> stats;
  for (uint32_t i = 0; i < 4; ++i) {
    v1::NeuronStat s;
    s.set_job_id("job-seed-profile");
    s.set_language("en");
    s.set_layer(i % 2);
    s.set_index(i);
    s.set_score(0.5 + i);
    s.set_selected(i < 2);
    s.set_rank(i < 2 ? i + 1 : 0);
    stats.push_back(s);
  }
  (void)results.PutNeuronStats(stats);
  WriteFile(corpus / "stored_records" / "results.rec", DumpStore(results_kv));
  std::cout << "seeds written under " << corpus << "\n";
  return 0;
}
