// Runs one job in this process, without a coordinator: `nmoe-run JOB_FILE`.
// The same task kinds as nmoe-worker, with rank 0 of a world of 1.
#pragma once

#include <atomic>
#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "nmoe/v1/job_spec.pb.h"
#include "worker/task_registry.h"

namespace nmoe::worker {

struct LocalRunOptions {
  std::string work_dir = ".";    // relative paths of the spec resolve here
  std::string job_id = "local";  // names the run in logs
  std::string results_path;      // RocksDB of stored results; empty = <work_dir>/results.db
  bool progress_bar = true;      // redraw a bar in place (a terminal); else one line a report
};

// Validates `spec`, creates its task from `registry` and runs it, printing
// progress and log lines to `err`. Returns the task's status (INVALID_ARGUMENT
// for a bad spec, CANCELLED when `stop` was set and the task stopped cleanly).
absl::Status RunLocally(const v1::JobSpec& spec, const TaskRegistry& registry, const LocalRunOptions& options,
                        const std::atomic<bool>* stop, std::ostream& err);

}  // namespace nmoe::worker
