// Names and rules of the job life cycle (see JobState in proto/nmoe/v1/job.proto).
#pragma once

#include <string>

#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe::coordinator {

bool IsTerminal(v1::JobState state);
// True when the life cycle allows from -> to.
bool IsAllowedTransition(v1::JobState from, v1::JobState to);
// "PENDING", "RUNNING", ...
std::string StateName(v1::JobState state);
// The kind a spec's oneof selects (UNSPECIFIED when none is set).
v1::JobKind KindOf(const v1::JobSpec& spec);

}  // namespace nmoe::coordinator
