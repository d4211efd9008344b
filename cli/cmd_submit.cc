// submit -f FILE [--name N] [--workers N] [--label k=v]... [--idempotency-key K] [--watch]
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/enum_names.h"
#include "cli/errors.h"
#include "cli/job_file.h"

namespace nmoe::cli {
namespace {

struct SubmitFlags {
  std::string file;
  std::string name;
  uint32_t workers = 0;
  std::vector<std::string> labels;
  std::string idempotency_key;
  bool watch = false;
};

absl::StatusOr<nmoe::v1::JobSpec> BuildSpec(const SubmitFlags& flags, const CLI::App& cmd) {
  nmoe::v1::JobSpec spec;
  if (!flags.file.empty()) {
    absl::StatusOr<nmoe::v1::JobSpec> parsed = ReadJobFile(flags.file);
    if (!parsed.ok()) return UsageError(std::string(parsed.status().message()));
    spec = *std::move(parsed);
  }
  SpecOverrides overrides;
  if (cmd.count("--name") > 0) overrides.name = flags.name;
  if (cmd.count("--workers") > 0) overrides.workers = flags.workers;
  overrides.labels = flags.labels;
  if (absl::Status s = ApplySpecOverrides(overrides, &spec); !s.ok()) {
    return UsageError(std::string(s.message()));
  }
  if (spec.kind_case() == nmoe::v1::JobSpec::KIND_NOT_SET) {
    return UsageError(
        fmt::format("{}: the job spec sets none of profile, allocate, train, evaluate, pipeline, pretrain",
                    flags.file.empty() ? "submit (no -f FILE)" : flags.file));
  }
  return spec;
}

absl::StatusOr<int> RunSubmit(Session& session, const SubmitFlags& flags, const CLI::App& cmd) {
  if (absl::Status s = session.RequireNotCsv("submit"); !s.ok()) return s;
  absl::StatusOr<nmoe::v1::JobSpec> spec = BuildSpec(flags, cmd);
  if (!spec.ok()) return spec.status();
  nmoe::v1::SubmitJobRequest request;
  *request.mutable_spec() = *std::move(spec);
  request.set_idempotency_key(flags.idempotency_key);
  Client& client = session.client();
  absl::StatusOr<nmoe::v1::SubmitJobResponse> response =
      client.Call(client.jobs(), &nmoe::v1::JobService::Stub::SubmitJob, request);
  if (!response.ok()) return response.status();
  const nmoe::v1::Job& job = response->job();
  if (session.output() == OutputFormat::kTable) {
    session.out() << job.id() << "\n" << std::flush;
    if (!response->created()) {
      session.err() << fmt::format(
          "existing job: idempotency key \"{}\" was already used by {} ({})\n",
          flags.idempotency_key, job.id(), EnumName(job.state()));
    }
  } else if (absl::Status s = session.Print(*response, Table{}); !s.ok()) {
    return s;
  }
  if (!flags.watch) return kExitOk;
  WatchOptions options;
  options.job_id = job.id();
  return RunWatch(session, options);
}

}  // namespace

void AddSubmitCommand(CLI::App& root, CommandTable& table) {
  auto flags = std::make_shared<SubmitFlags>();
  CLI::App* cmd = root.add_subcommand("submit", "Submit a job from a YAML or JSON job file");
  cmd->add_option("-f,--file", flags->file,
                  "Job file: a nmoe.v1.JobSpec in YAML or JSON (protobuf JSON mapping); - = stdin");
  cmd->add_option("--name", flags->name, "Job name (overrides the file's)");
  cmd->add_option("--workers", flags->workers, "Number of workers (overrides the file's)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--label", flags->labels, "Label key=value (repeatable; adds to the file's)");
  cmd->add_option("--idempotency-key", flags->idempotency_key,
                  "Retried submissions with the same key return the same job");
  cmd->add_flag("--watch", flags->watch, "Watch the job after submitting it (exit code as watch)");
  table.Add(cmd, [flags, cmd](Session& session) { return RunSubmit(session, *flags, *cmd); });
}

}  // namespace nmoe::cli
