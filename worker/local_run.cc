#include "worker/local_run.h"

#include <filesystem>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "cli/progress_bar.h"
#include "common/job_validation.h"
#include "common/status_macros.h"
#include "storage/store_result_sink.h"

namespace nmoe::worker {
namespace {

const char* LevelName(v1::LogLevel level) {
  switch (level) {
    case v1::LOG_LEVEL_DEBUG: return "debug";
    case v1::LOG_LEVEL_WARNING: return "warning";
    case v1::LOG_LEVEL_ERROR: return "error";
    default: return "info";
  }
}

}  // namespace

absl::Status RunLocally(const v1::JobSpec& spec, const TaskRegistry& registry, const LocalRunOptions& options,
                        const std::atomic<bool>* stop, std::ostream& err) {
  NMOE_RETURN_IF_ERROR(ValidateJobSpec(spec));
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<Task> task, registry.Create(spec));

  cli::ProgressDisplay display(&err, 100);
  TaskContext ctx;
  ctx.task.set_id(absl::StrCat(options.job_id, "/a1/r0"));
  ctx.task.set_job_id(options.job_id);
  ctx.task.set_attempt(1);
  ctx.task.set_rank(0);
  ctx.task.set_world_size(1);
  *ctx.task.mutable_spec() = spec;
  ctx.work_dir = options.work_dir;
  ctx.stop = stop;
  std::string results_path = options.results_path.empty()
                                 ? (std::filesystem::path(options.work_dir) / "results.db").string()
                                 : options.results_path;
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<storage::StoreResultSink> results,
                        storage::StoreResultSink::OpenLocal(results_path));
  ctx.results = results.get();
  ctx.report_progress = [&](const v1::Progress& p) {
    if (options.progress_bar) {
      display.Update(p);
    } else {
      err << cli::RenderProgressLine(p) << "\n";
    }
  };
  ctx.log = [&](v1::LogLevel level, const std::string& text) {
    if (options.progress_bar) display.Clear();
    err << LevelName(level) << ": " << text << "\n";
    if (options.progress_bar) display.Redraw();
  };
  absl::Status status = task->Run(ctx);
  if (options.progress_bar) {
    display.Clear();
  }
  err.flush();
  return status;
}

}  // namespace nmoe::worker
