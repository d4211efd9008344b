// The allocate job kind (JobSpec.allocate): reads the profile job's stored
// ProfileSummary (ctx.results), computes the plan (plan_builder.h), stores it
// (ctx.results->PutPlan) and writes plan.json and plan.svg (experts per layer)
// to spec.output_path (default <work_dir>/plans/<job id>). The plan id is
// derived from the job id ("job-X" -> "plan-X"), so a restarted attempt
// replaces its plan instead of adding one.
#pragma once

#include <memory>
#include <string>

#include "common/task.h"

namespace nmoe::allocator {

std::unique_ptr<Task> NewAllocateTask();

// "plan-X" for job "job-X"; else "plan-" + the job id with characters other
// than [A-Za-z0-9._-] replaced by '_'.
std::string PlanIdForJob(const std::string& job_id);

}  // namespace nmoe::allocator
