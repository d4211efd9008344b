// The contract between a task kind (pretrain, profile, train, evaluate, ...) and
// whatever runs it: `nmoe-run` in one process, or nmoe-worker for the coordinator.
// Task kinds live in the folders that own the work (trainer/, profiler/) and are
// registered by kind; runners never know their details.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "nmoe/v1/job.pb.h"
#include "common/result_sink.h"
#include "nmoe/v1/worker_service.pb.h"

namespace prometheus {
class Registry;  // <prometheus/registry.h>
}

namespace nmoe {

namespace comm {
class Communicator;  // comm/communicator.h
}

struct TaskContext {
  v1::Task task;                  // job id, attempt, rank, world size and the spec
  std::filesystem::path work_dir;  // relative paths in the spec resolve against it
  // Progress of the current stage; the runner forwards it (ReportProgress, a bar).
  // Called at most a few times a second (see ProgressMeter). Never null.
  std::function<void(const v1::Progress&)> report_progress;
  // A line for the job's log. Never null.
  std::function<void(v1::LogLevel, const std::string&)> log;
  // Set when the run must stop (cancel, SIGTERM, lost lease). Tasks poll it
  // between steps, save what lets them resume, and return absl::CancelledError.
  const std::atomic<bool>* stop = nullptr;
  // Stored results (neuron statistics, profile summaries, plans). Runners always set it.
  ResultSink* results = nullptr;
  // The gang's communicator (ranks 0..world_size-1 of this attempt) when
  // task.world_size > 1; null for a single rank.
  comm::Communicator* comm = nullptr;
  // The process's Prometheus registry (nmoe-worker's --metrics-port) for the task's
  // own metrics; null when nothing is exported (nmoe-run, tests). Tasks label their
  // series with the job id and remove them when they end (docs/training.md, "Metrics").
  prometheus::Registry* metrics = nullptr;

  bool StopRequested() const { return stop != nullptr && stop->load(std::memory_order_relaxed); }
  // `path` as given when absolute, else under work_dir.
  std::filesystem::path Resolve(const std::string& path) const;
  void Info(const std::string& text) const { log(v1::LOG_LEVEL_INFO, text); }
  void Warn(const std::string& text) const { log(v1::LOG_LEVEL_WARNING, text); }
};

class Task {
 public:
  virtual ~Task() = default;
  // Runs to completion. OK: done, outputs written. CANCELLED: stopped on request,
  // resumable from what it saved. Any other code: failed, with a message naming
  // the cause (the job's events show it). Never throws.
  virtual absl::Status Run(TaskContext& ctx) = 0;
};

}  // namespace nmoe
