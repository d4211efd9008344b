// One leased task running in its own thread. The task's progress and log lines
// are buffered here (the latest progress, up to `max_buffered_logs` lines,
// oldest dropped first) until the agent takes them for a ReportProgress call.
// A c10::Error or other exception thrown by the task becomes an INTERNAL
// status naming it: the worker never crashes with its task.
#pragma once

#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/result_sink.h"
#include "common/task.h"
#include "nmoe/v1/worker_service.pb.h"

namespace nmoe::worker {

// A task may name the FailTask reason its failure is reported with (default:
// the status code's name) by attaching it to its status: WithFailReason(s,
// "PEER_LOST"). FailReason() returns it, or "" when none is attached.
absl::Status WithFailReason(absl::Status status, const std::string& reason);
std::string FailReason(const absl::Status& status);

class RunningTask {
 public:
  struct Report {
    std::optional<v1::Progress> progress;  // the latest since the previous Take, if any
    std::vector<v1::LogLine> logs;         // oldest first
    size_t dropped_logs = 0;               // lines lost to the buffer cap since the previous Take
  };

  // Builds the TaskContext (task, work_dir, stop flag, results, progress and
  // log buffers) and starts `impl->Run` in a new thread. `on_done` runs in
  // that thread after the task returned (wake the agent). `results` must
  // outlive this object.
  RunningTask(v1::Task task, std::unique_ptr<Task> impl, std::filesystem::path work_dir,
              std::unique_ptr<ResultSink> results, std::function<void()> on_done, size_t max_buffered_logs = 1000);
  ~RunningTask();  // requests stop and joins

  const v1::Task& task() const { return task_; }
  // Sets the stop flag the task polls; it saves what lets it resume and returns CANCELLED.
  void RequestStop() { stop_.store(true); }
  bool stop_requested() const { return stop_.load(); }
  bool done() const { return done_.load(); }
  // The task's status; valid once done().
  absl::Status status() const;
  // Takes the buffered progress and up to `max_lines` log lines.
  Report Take(size_t max_lines);
  bool HasPendingReport() const;

 private:
  void Main();

  const v1::Task task_;
  std::unique_ptr<Task> impl_;
  std::unique_ptr<ResultSink> results_;
  TaskContext ctx_;
  std::function<void()> on_done_;
  const size_t max_buffered_logs_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};

  mutable std::mutex mu_;
  absl::Status status_;
  std::optional<v1::Progress> progress_;
  std::deque<v1::LogLine> logs_;
  size_t dropped_logs_ = 0;

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace nmoe::worker
