#include "coordinator/job_states.h"

#include "absl/strings/match.h"

namespace nmoe::coordinator {

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED || state == v1::JOB_STATE_CANCELLED;
}

bool IsAllowedTransition(v1::JobState from, v1::JobState to) {
  using S = v1::JobState;
  if (IsTerminal(from) || from == to) return false;
  switch (to) {
    case S::JOB_STATE_SCHEDULED:
      return from == S::JOB_STATE_PENDING || from == S::JOB_STATE_RETRYING;
    case S::JOB_STATE_RUNNING:
      return from == S::JOB_STATE_SCHEDULED;
    case S::JOB_STATE_RETRYING:
      return from == S::JOB_STATE_SCHEDULED || from == S::JOB_STATE_RUNNING;
    case S::JOB_STATE_CANCELLING:
      return from == S::JOB_STATE_SCHEDULED || from == S::JOB_STATE_RUNNING;
    case S::JOB_STATE_SUCCEEDED:
      return from == S::JOB_STATE_RUNNING;
    case S::JOB_STATE_FAILED:
      return from != S::JOB_STATE_CANCELLING;
    case S::JOB_STATE_CANCELLED:
      return true;
    default:
      return false;
  }
}

std::string StateName(v1::JobState state) {
  std::string name = v1::JobState_Name(state);
  const std::string prefix = "JOB_STATE_";
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

v1::JobKind KindOf(const v1::JobSpec& spec) {
  switch (spec.kind_case()) {
    case v1::JobSpec::kProfile: return v1::JOB_KIND_PROFILE;
    case v1::JobSpec::kAllocate: return v1::JOB_KIND_ALLOCATE;
    case v1::JobSpec::kTrain: return v1::JOB_KIND_TRAIN;
    case v1::JobSpec::kEvaluate: return v1::JOB_KIND_EVALUATE;
    case v1::JobSpec::kPipeline: return v1::JOB_KIND_PIPELINE;
    case v1::JobSpec::kPretrain: return v1::JOB_KIND_PRETRAIN;
    case v1::JobSpec::KIND_NOT_SET: break;
  }
  return v1::JOB_KIND_UNSPECIFIED;
}

}  // namespace nmoe::coordinator
