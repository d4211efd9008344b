// Task kinds by job kind. Runners (nmoe-run, nmoe-worker) create the task for a
// job's spec here; each folder that owns a kind registers its factory.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/task.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe::worker {

using TaskFactory = std::function<std::unique_ptr<Task>()>;

class TaskRegistry {
 public:
  // Replaces an earlier factory for the same kind.
  void Register(v1::JobSpec::KindCase kind, TaskFactory factory);
  // UNIMPLEMENTED naming the kind when no factory is registered for it.
  absl::StatusOr<std::unique_ptr<Task>> Create(const v1::JobSpec& spec) const;
  bool Supports(v1::JobSpec::KindCase kind) const { return factories_.count(kind) > 0; }

 private:
  std::map<v1::JobSpec::KindCase, TaskFactory> factories_;
};

// The name of a spec's kind as written in job files: "pretrain", "profile", ...
std::string KindName(v1::JobSpec::KindCase kind);

// Every task kind built into this binary.
TaskRegistry BuiltinTasks();

}  // namespace nmoe::worker
