#include "worker/task_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace nmoe::worker {

void TaskRegistry::Register(v1::JobSpec::KindCase kind, TaskFactory factory) {
  factories_[kind] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<Task>> TaskRegistry::Create(const v1::JobSpec& spec) const {
  auto it = factories_.find(spec.kind_case());
  if (it == factories_.end()) {
    return absl::UnimplementedError(
        absl::StrCat("this worker cannot run ", KindName(spec.kind_case()), " jobs (not built in yet)"));
  }
  return it->second();
}

std::string KindName(v1::JobSpec::KindCase kind) {
  const auto* field = v1::JobSpec::descriptor()->FindFieldByNumber(static_cast<int>(kind));
  return field != nullptr ? field->name() : "unspecified";
}

}  // namespace nmoe::worker
