// How jobs and their events read in tables and text: shared by get, list,
// cancel, describe, events, watch and submit.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/output.h"
#include "nmoe/v1/job.pb.h"

namespace nmoe::cli {

// SUCCEEDED, FAILED and CANCELLED.
bool IsTerminal(nmoe::v1::JobState state);

// The exit code a watched job's final state maps to: SUCCEEDED 0, FAILED 1,
// CANCELLED 3 (errors.h). Non-terminal states map to 4 (cannot happen when
// called on a terminal state).
int ExitCodeForJobState(nmoe::v1::JobState state);

// "profile 1200/5000 (24%)", "train/stage1 300 steps" (unknown total), or
// "-" without progress.
std::string ProgressSummary(const nmoe::v1::Progress& progress);

// Columns ID, KIND, STATE, NAME, AGE (since created), UPDATED (since the
// last update) and PROGRESS; one row per job, in the given order.
Table JobTable(const google::protobuf::RepeatedPtrField<nmoe::v1::Job>& jobs, absl::Time now);

// The event's content on one line, without seq and time:
//   "state pending -> scheduled: LEASED (attempt 1) <message>"
//   "log info [w-1] <text>"
//   "progress profile 1200/5000 sentences (24.0%) 45.2/s ETA 1m50s"
std::string DescribeEvent(const nmoe::v1::JobEvent& event);

// Columns SEQ, TIME, TYPE (state, progress, log), DETAIL.
Table EventTable(const google::protobuf::RepeatedPtrField<nmoe::v1::JobEvent>& events);

// The state changes among `events`: SEQ, TIME, FROM, TO, REASON, ATTEMPT, MESSAGE.
Table TransitionTable(const google::protobuf::RepeatedPtrField<nmoe::v1::JobEvent>& events);

// `describe` header: aligned "Key: value" lines for people.
std::string DescribeJobText(const nmoe::v1::Job& job, absl::Time now);

}  // namespace nmoe::cli
