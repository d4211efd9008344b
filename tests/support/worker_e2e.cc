#include "tests/support/worker_e2e.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/job_file.h"
#include "tests/support/files.h"

namespace nmoe::testing {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

std::string PretrainJobYaml(const PretrainJobOptions& o) {
  const std::string corpus = o.corpus_dir.empty() ? absl::StrCat(SourceDir(), "/tests/data/corpus") : o.corpus_dir;
  std::string yaml = absl::StrCat("name: ", o.name, "\nresources: {dtype: COMPUTE_DTYPE_FP32, num_workers: ",
                                  o.workers, "}\n");
  if (o.max_restarts >= 0) absl::StrAppend(&yaml, "max_restarts: ", o.max_restarts, "\n");
  absl::StrAppend(&yaml, "pretrain:\n  preset: tiny\n", "  tokenizer_vocab_size: 512\n  stage:\n    corpora:\n",
                  "      - {language: en, paths: [", corpus, "/en/train.txt]}\n",
                  "      - {language: de, paths: [", corpus, "/de/train.txt]}\n",
                  "    sequence_length: 32\n    steps: ", o.steps,
                  "\n    batch_sequences: 4\n    learning_rate: 3.0e-3\n    warmup_steps: 2\n"
                  "  heldout:\n    - {language: en, paths: [", corpus, "/en/validation.txt]}\n",
                  "  output_path: ", o.output, "\n  checkpoint_interval_steps: ", o.checkpoint_interval_steps,
                  "\n  seed: 3\n");
  return yaml;
}

void WorkerE2eTest::SetUp() { std::ofstream(dir_.file("tokens")) << kWorkerE2eToken << "\n"; }

void WorkerE2eTest::StartCoordinator(const CoordinatorFlags& flags) {
  fs::remove(dir_.file("port"));
  std::vector<std::string> argv = {BuildPath("coordinator/nmoe-coordinator"), "--data-dir", dir_.file("db"),
                                   "--listen", absl::StrCat("127.0.0.1:", flags.port), "--port-file",
                                   dir_.file("port"), "--token-file", dir_.file("tokens"),
                                   "--heartbeat-interval", flags.heartbeat, "--lease-ttl", flags.lease_ttl};
  if (flags.metrics) {
    argv.push_back("--metrics-listen");
    argv.push_back("127.0.0.1:0");
  }
  auto child = ChildProcess::Start(argv, dir_.file("coordinator.log"));
  ASSERT_TRUE(child.ok()) << child.status();
  coordinator_ = std::make_unique<ChildProcess>(std::move(*child));
  auto lines = WaitForFileLines(dir_.file("port"), 2, absl::Seconds(30));
  ASSERT_TRUE(lines.ok()) << lines.status() << "\n" << ReadWholeFile(dir_.file("coordinator.log"));
  port_ = std::stoi((*lines)[0]);
  coordinator_metrics_port_ = std::stoi((*lines)[1]);
  cli::ConnectionOptions connection;
  connection.address = absl::StrCat("127.0.0.1:", port_);
  connection.token = kWorkerE2eToken;
  connection.timeout = absl::Seconds(5);
  client_ = cli::Client::Create(connection);
}

ChildProcess WorkerE2eTest::StartWorker(const std::string& name, std::vector<std::string> extra) {
  std::vector<std::string> argv = {BuildPath("worker/nmoe-worker"),
                                   "--coordinator", absl::StrCat("127.0.0.1:", port_),
                                   "--token-file", dir_.file("tokens"),
                                   "--threads", "1",
                                   "--work-dir", dir_.path().string(),
                                   "--name", name,
                                   "--report-interval", "0.2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start(argv, WorkerLog(name));
  EXPECT_TRUE(child.ok()) << child.status();
  return std::move(*child);
}

int WorkerE2eTest::WorkerMetricsPort(const std::string& name, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string marker = "metrics on port ";
  while (absl::Now() < deadline) {
    const std::string log = ReadWholeFile(WorkerLog(name));
    const size_t at = log.find(marker);
    int port = 0;
    if (at != std::string::npos &&
        absl::SimpleAtoi(log.substr(at + marker.size(), log.find('\n', at) - at - marker.size()), &port)) {
      return port;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "worker " << name << " logged no metrics port:\n" << ReadWholeFile(WorkerLog(name));
  return -1;
}

std::string WorkerE2eTest::WorkerId(const std::string& name) {
  auto workers = client_->Call(client_->workers(), &v1::WorkerService::Stub::ListWorkers, v1::ListWorkersRequest());
  if (!workers.ok()) return "";
  for (const auto& w : workers->workers()) {
    auto label = w.capabilities().labels().find("name");
    if (label != w.capabilities().labels().end() && label->second == name) return w.id();
  }
  return "";
}

std::string WorkerE2eTest::Submit(const std::string& yaml) {
  const std::string path = dir_.file("job" + std::to_string(++jobs_) + ".yaml");
  std::ofstream(path) << yaml;
  auto spec = cli::ReadJobFile(path);
  EXPECT_TRUE(spec.ok()) << spec.status();
  v1::SubmitJobRequest request;
  *request.mutable_spec() = *spec;
  auto response = client_->Call(client_->jobs(), &v1::JobService::Stub::SubmitJob, request);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? response->job().id() : "";
}

v1::Job WorkerE2eTest::WaitFor(const std::string& id, const std::function<bool(const v1::Job&)>& done,
                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  v1::Job last;
  v1::GetJobRequest request;
  request.set_job_id(id);
  while (absl::Now() < deadline) {
    auto job = client_->Call(client_->jobs(), &v1::JobService::Stub::GetJob, request);
    if (job.ok()) {
      last = *job;
      if (done(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "timed out waiting for job " << id << ": " << last.ShortDebugString();
  return last;
}

v1::Job WorkerE2eTest::WaitForState(const std::string& id, v1::JobState state) {
  return WaitFor(id, [state](const v1::Job& j) { return j.state() == state; });
}

std::vector<v1::JobEvent> WorkerE2eTest::Events(const std::string& id) {
  std::vector<v1::JobEvent> events;
  v1::ListJobEventsRequest request;
  request.set_job_id(id);
  request.set_page_size(1000);
  while (true) {
    auto page = client_->Call(client_->jobs(), &v1::JobService::Stub::ListJobEvents, request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    events.insert(events.end(), page->events().begin(), page->events().end());
    if (page->next_seq() == 0) break;
    request.set_from_seq(page->next_seq());
  }
  return events;
}

std::string WorkerE2eTest::LogText(const std::vector<v1::JobEvent>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.has_log()) absl::StrAppend(&text, e.log().text(), "\n");
  }
  return text;
}

double MetricValue(const std::string& body, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    if (line.size() <= series.size() + 1 || line.substr(0, series.size()) != series || line[series.size()] != ' ') {
      continue;
    }
    double value = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
  }
  return -1;
}

}  // namespace nmoe::testing
