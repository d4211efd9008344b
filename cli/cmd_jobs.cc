// get JOB, describe JOB, list [--state ...] [--kind ...] [--limit N | --all],
// cancel JOB [--reason TEXT].
#include <fmt/format.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/enum_names.h"
#include "cli/errors.h"
#include "cli/job_view.h"
#include "cli/json_to_yaml.h"

namespace nmoe::cli {
namespace {

using nmoe::v1::Job;
using nmoe::v1::JobService;

absl::StatusOr<int> PrintJob(Session& session, const Job& job) {
  google::protobuf::RepeatedPtrField<Job> jobs;
  *jobs.Add() = job;
  if (absl::Status s = session.Print(job, JobTable(jobs, session.Now())); !s.ok()) return s;
  return kExitOk;
}

absl::StatusOr<Job> GetJob(Session& session, const std::string& job_id) {
  nmoe::v1::GetJobRequest request;
  request.set_job_id(job_id);
  Client& client = session.client();
  return client.Call(client.jobs(), &JobService::Stub::GetJob, request);
}

absl::StatusOr<int> RunDescribe(Session& session, const std::string& job_id) {
  if (absl::Status s = session.RequireNotCsv("describe"); !s.ok()) return s;
  absl::StatusOr<Job> job = GetJob(session, job_id);
  if (!job.ok()) return job.status();
  absl::StatusOr<nmoe::v1::ListJobEventsResponse> events = FetchEvents(session, job_id, 0, 0);
  if (!events.ok()) return events.status();
  google::protobuf::RepeatedPtrField<nmoe::v1::JobEvent> transitions;
  for (const nmoe::v1::JobEvent& event : events->events()) {
    if (event.has_state_change()) *transitions.Add() = event;
  }
  absl::StatusOr<nlohmann::ordered_json> job_json = MessageToJsonValue(*job);
  absl::StatusOr<nlohmann::ordered_json> spec_json = MessageToJsonValue(job->spec());
  if (!job_json.ok()) return job_json.status();
  if (!spec_json.ok()) return spec_json.status();
  nlohmann::ordered_json doc = {{"job", *job_json},
                                {"transitions", nlohmann::ordered_json::array()}};
  for (const nmoe::v1::JobEvent& event : transitions) {
    absl::StatusOr<nlohmann::ordered_json> e = MessageToJsonValue(event);
    if (!e.ok()) return e.status();
    doc["transitions"].push_back(*std::move(e));
  }
  std::string text = DescribeJobText(*job, session.Now());
  text += "\nTransitions:\n" + RenderTable(TransitionTable(transitions));
  text += "\nSpec:\n";
  std::string spec_yaml = JsonToYaml(*spec_json);
  for (size_t start = 0; start < spec_yaml.size();) {  // indent by two spaces
    const size_t end = spec_yaml.find('\n', start);
    text += "  " + spec_yaml.substr(start, end - start + 1);
    start = end == std::string::npos ? spec_yaml.size() : end + 1;
  }
  if (absl::Status s = session.PrintDocument(doc, text); !s.ok()) return s;
  return kExitOk;
}

struct ListFlags {
  std::vector<std::string> states;
  std::vector<std::string> kinds;
  uint32_t limit = 100;
  bool all = false;
};

absl::StatusOr<int> RunList(Session& session, const ListFlags& flags) {
  nmoe::v1::ListJobsRequest request;
  for (const std::string& name : flags.states) {
    absl::StatusOr<nmoe::v1::JobState> state = ParseEnum<nmoe::v1::JobState>(name);
    if (!state.ok()) return UsageError("--state: " + std::string(state.status().message()));
    request.add_states(*state);
  }
  for (const std::string& name : flags.kinds) {
    absl::StatusOr<nmoe::v1::JobKind> kind = ParseEnum<nmoe::v1::JobKind>(name);
    if (!kind.ok()) return UsageError("--kind: " + std::string(kind.status().message()));
    request.add_kinds(*kind);
  }
  const uint32_t limit = flags.all ? 0 : flags.limit;
  Client& client = session.client();
  nmoe::v1::ListJobsResponse all;
  do {
    const uint32_t wanted = limit == 0 ? 1000 : limit - static_cast<uint32_t>(all.jobs_size());
    request.set_page_size(std::min<uint32_t>(wanted, 1000));
    absl::StatusOr<nmoe::v1::ListJobsResponse> page =
        client.Call(client.jobs(), &JobService::Stub::ListJobs, request);
    if (!page.ok()) return page.status();
    for (Job& job : *page->mutable_jobs()) {
      if (limit != 0 && static_cast<uint32_t>(all.jobs_size()) >= limit) break;
      *all.add_jobs() = std::move(job);
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() &&
           (limit == 0 || static_cast<uint32_t>(all.jobs_size()) < limit));
  // More jobs exist beyond the limit: say so (table) or keep the token (json/yaml).
  all.set_next_page_token(request.page_token());
  if (absl::Status s = session.Print(all, JobTable(all.jobs(), session.Now())); !s.ok()) return s;
  if (!request.page_token().empty() && session.output() == OutputFormat::kTable) {
    session.err() << fmt::format("(showing the first {} jobs; use --limit N or --all for more)\n",
                                 all.jobs_size());
  }
  return kExitOk;
}

}  // namespace

void AddJobCommands(CLI::App& root, CommandTable& table) {
  auto job_id = std::make_shared<std::string>();
  CLI::App* get = root.add_subcommand("get", "Show a job");
  get->add_option("job", *job_id, "Job id")->required();
  table.Add(get, [job_id](Session& session) -> absl::StatusOr<int> {
    absl::StatusOr<Job> job = GetJob(session, *job_id);
    if (!job.ok()) return job.status();
    return PrintJob(session, *job);
  });

  CLI::App* describe =
      root.add_subcommand("describe", "Show a job in detail: state, transitions, spec");
  describe->add_option("job", *job_id, "Job id")->required();
  table.Add(describe, [job_id](Session& session) { return RunDescribe(session, *job_id); });

  auto list_flags = std::make_shared<ListFlags>();
  CLI::App* list = root.add_subcommand("list", "List jobs, newest first");
  list->add_option("--state", list_flags->states,
                   "Only jobs in these states (comma-separated): " +
                       ShortEnumNameList(nmoe::v1::JobState_descriptor()))
      ->delimiter(',');
  list->add_option("--kind", list_flags->kinds,
                   "Only jobs of these kinds (comma-separated): " +
                       ShortEnumNameList(nmoe::v1::JobKind_descriptor()))
      ->delimiter(',');
  list->add_option("--limit", list_flags->limit, "At most this many jobs")->capture_default_str();
  list->add_flag("--all", list_flags->all, "All jobs (no --limit)");
  table.Add(list, [list_flags](Session& session) { return RunList(session, *list_flags); });

  auto reason = std::make_shared<std::string>();
  CLI::App* cancel = root.add_subcommand("cancel", "Cancel a job");
  cancel->add_option("job", *job_id, "Job id")->required();
  cancel->add_option("--reason", *reason, "Why (recorded in the job's transitions)");
  table.Add(cancel, [job_id, reason](Session& session) -> absl::StatusOr<int> {
    nmoe::v1::CancelJobRequest request;
    request.set_job_id(*job_id);
    request.set_reason(*reason);
    Client& client = session.client();
    absl::StatusOr<Job> job = client.Call(client.jobs(), &JobService::Stub::CancelJob, request);
    if (!job.ok()) return job.status();
    return PrintJob(session, *job);
  });
}

}  // namespace nmoe::cli
