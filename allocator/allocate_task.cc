#include "allocator/allocate_task.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "allocator/plan_builder.h"
#include "allocator/plan_figure.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace nmoe::allocator {
namespace {

namespace fs = std::filesystem;

absl::Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

class AllocateTask final : public Task {
 public:
  absl::Status Run(TaskContext& ctx) override {
    const v1::AllocateSpec& spec = ctx.task.spec().allocate();
    std::optional<v1::ProfileSummary> profile;
    if (!spec.profile_job_id().empty()) {
      if (ctx.results == nullptr) return absl::FailedPreconditionError("allocate: no result store to read the profile from");
      NMOE_ASSIGN_OR_RETURN(profile, ctx.results->GetProfileSummary(spec.profile_job_id()));
      if (!profile.has_value()) {
        return absl::FailedPreconditionError(absl::StrCat("allocate: profile job ", spec.profile_job_id(),
                                                          " has no stored profile summary (not finished, or not a profile job)"));
      }
    }
    absl::StatusOr<v1::Plan> plan = PlanFromProfile(spec, profile ? &*profile : nullptr);
    if (!plan.ok()) {
      return absl::Status(plan.status().code(), absl::StrCat("allocate: ", plan.status().message()));
    }
    plan->set_id(PlanIdForJob(ctx.task.job_id()));
    plan->set_job_id(ctx.task.job_id());
    *plan->mutable_create_time() = ToProtoTime(absl::Now());
    NMOE_RETURN_IF_ERROR(ctx.results->PutPlan(*plan));

    const fs::path dir = spec.output_path().empty() ? ctx.work_dir / "plans" / ctx.task.job_id()
                                                    : ctx.Resolve(spec.output_path());
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("allocate: cannot create ", dir.string(), ": ", ec.message()));
    NMOE_RETURN_IF_ERROR(WriteFile(dir / "plan.json", PlanToJson(*plan)));
    const std::string label = PlanLabel(*plan);
    NMOE_ASSIGN_OR_RETURN(std::string svg, PlansFigureSvg({{label, *plan}}, "Experts per layer: " + label));
    NMOE_RETURN_IF_ERROR(WriteFile(dir / "plan.svg", svg));
    ctx.Info(absl::StrCat("plan ", plan->id(), " (", label, "): experts per layer ",
                          absl::StrJoin(plan->experts_per_layer(), ","), "; ", plan->total_experts(),
                          " experts in total, ", plan->added_parameters(), " added parameters; wrote ",
                          (dir / "plan.json").string(), " and plan.svg"));
    return absl::OkStatus();
  }
};

}  // namespace

std::string PlanIdForJob(const std::string& job_id) {
  if (absl::StartsWith(job_id, "job-") && job_id.size() > 4) return "plan-" + job_id.substr(4);
  std::string id = "plan-" + job_id;
  for (size_t i = 5; i < id.size(); ++i) {
    const char c = id[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') id[i] = '_';
  }
  return id;
}

std::unique_ptr<Task> NewAllocateTask() { return std::make_unique<AllocateTask>(); }

}  // namespace nmoe::allocator
