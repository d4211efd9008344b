// Fixture of the end-to-end worker tests: the real nmoe-coordinator and
// nmoe-worker processes on 127.0.0.1, a temp dir as the workers' --work-dir,
// the tiny pretraining preset on the committed sample corpus (tests/data/corpus).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::testing {

inline constexpr char kWorkerE2eToken[] = "worker-e2e-token";

std::string SourceDir();

struct PretrainJobOptions {
  std::string name = "job";
  std::string output = "runs/job";  // relative: resolves under the worker's --work-dir
  int steps = 10;
  std::string corpus_dir;           // empty = the sample corpus (another dir makes the job fail)
  int workers = 1;
  int checkpoint_interval_steps = 1000;
  int max_restarts = -1;            // -1 = absent (the coordinator's default)
};
// The job file (YAML) of the tiny preset on two languages of the sample corpus.
std::string PretrainJobYaml(const PretrainJobOptions& options);

struct CoordinatorFlags {
  int port = 0;                 // 0 = any free port; a restart passes the old one
  std::string lease_ttl = "10";  // seconds
  std::string heartbeat = "0.2";
  bool metrics = false;         // --metrics-listen 127.0.0.1:0 (port: coordinator_metrics_port_)
};

class WorkerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Starts nmoe-coordinator on the test's database.
  void StartCoordinator(const CoordinatorFlags& flags = {});
  ChildProcess StartWorker(const std::string& name, std::vector<std::string> extra = {});
  std::string WorkerLog(const std::string& name) { return dir_.file(name + ".log"); }
  // The port the worker logged for --metrics-port 0; -1 after `timeout`.
  int WorkerMetricsPort(const std::string& name, absl::Duration timeout = absl::Seconds(60));
  // The id of the registered worker started as `name`; "" when none.
  std::string WorkerId(const std::string& name);

  std::string Submit(const std::string& yaml);
  // Polls the job until `done` holds (failed calls are retried). The last job seen on timeout.
  v1::Job WaitFor(const std::string& id, const std::function<bool(const v1::Job&)>& done,
                  absl::Duration timeout = absl::Seconds(120));
  v1::Job WaitForState(const std::string& id, v1::JobState state);
  std::vector<v1::JobEvent> Events(const std::string& id);
  static std::string LogText(const std::vector<v1::JobEvent>& events);

  TempDir dir_;
  std::unique_ptr<ChildProcess> coordinator_;
  int port_ = 0;
  int coordinator_metrics_port_ = 0;
  std::unique_ptr<cli::Client> client_;
  int jobs_ = 0;
};

// The value of the sample `series` (name with labels exactly as exposed, e.g.
// `nmoe_worker_tasks_total{outcome="failed"}`) in a Prometheus text body; -1 when absent.
double MetricValue(const std::string& body, const std::string& series);

}  // namespace nmoe::testing
