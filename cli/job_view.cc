#include "cli/job_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cli/enum_names.h"
#include "cli/errors.h"
#include "cli/format.h"
#include "cli/progress_bar.h"

namespace nmoe::cli {

using nmoe::v1::Job;
using nmoe::v1::JobEvent;
using nmoe::v1::JobState;

bool IsTerminal(JobState state) {
  return state == nmoe::v1::JOB_STATE_SUCCEEDED || state == nmoe::v1::JOB_STATE_FAILED ||
         state == nmoe::v1::JOB_STATE_CANCELLED;
}

int ExitCodeForJobState(JobState state) {
  switch (state) {
    case nmoe::v1::JOB_STATE_SUCCEEDED: return kExitOk;
    case nmoe::v1::JOB_STATE_FAILED: return kExitFailed;
    case nmoe::v1::JOB_STATE_CANCELLED: return kExitJobCancelled;
    default: return kExitRpcError;
  }
}

std::string ProgressSummary(const nmoe::v1::Progress& p) {
  if (p.stage().empty() && p.done() == 0 && p.total() == 0) return "-";
  if (p.total() == 0) {
    if (p.done() == 0 && p.unit().empty()) return p.stage();  // a stage name only, e.g. "[15/15] report"
    return p.unit().empty() ? fmt::format("{} {}", p.stage(), FormatCount(p.done()))
                            : fmt::format("{} {} {}", p.stage(), FormatCount(p.done()), p.unit());
  }
  const uint64_t done = std::min(p.done(), p.total());
  return fmt::format("{} {}/{} ({}%)", p.stage(), FormatCount(p.done()), FormatCount(p.total()),
                     done * 100 / p.total());
}

Table JobTable(const google::protobuf::RepeatedPtrField<Job>& jobs, absl::Time now) {
  Table table{{"ID", "KIND", "STATE", "NAME", "AGE", "UPDATED", "PROGRESS"}, {}};
  for (const Job& job : jobs) {
    table.rows.push_back({job.id(), EnumName(job.kind()), EnumName(job.state()),
                          job.spec().name().empty() ? "-" : job.spec().name(),
                          FormatAge(job.create_time(), now), FormatAge(job.update_time(), now),
                          ProgressSummary(job.progress())});
  }
  return table;
}

namespace {

std::string DescribeTransition(const nmoe::v1::StateTransition& t) {
  std::string text = fmt::format("{} -> {}", EnumName(t.from()), EnumName(t.to()));
  if (!t.reason().empty()) text += ": " + t.reason();
  if (t.attempt() > 0) text += fmt::format(" (attempt {})", t.attempt());
  if (!t.message().empty()) text += " " + t.message();
  return text;
}

const char* EventType(const JobEvent& event) {
  switch (event.event_case()) {
    case JobEvent::kStateChange: return "state";
    case JobEvent::kProgress: return "progress";
    case JobEvent::kLog: return "log";
    default: return "unknown";
  }
}

std::string EventDetail(const JobEvent& event) {
  switch (event.event_case()) {
    case JobEvent::kStateChange: return DescribeTransition(event.state_change());
    case JobEvent::kProgress: return RenderProgressLine(event.progress());
    case JobEvent::kLog: {
      const nmoe::v1::LogLine& log = event.log();
      std::string text = EnumName(log.level());
      if (!log.worker_id().empty()) text += " [" + log.worker_id() + "]";
      return text + " " + log.text();
    }
    default: return "";
  }
}

}  // namespace

std::string DescribeEvent(const JobEvent& event) {
  return fmt::format("{} {}", EventType(event), EventDetail(event));
}

Table EventTable(const google::protobuf::RepeatedPtrField<JobEvent>& events) {
  Table table{{"SEQ", "TIME", "TYPE", "DETAIL"}, {}};
  for (const JobEvent& event : events) {
    table.rows.push_back({std::to_string(event.seq()), FormatTimestamp(event.time()),
                          EventType(event), EventDetail(event)});
  }
  return table;
}

Table TransitionTable(const google::protobuf::RepeatedPtrField<JobEvent>& events) {
  Table table{{"SEQ", "TIME", "FROM", "TO", "REASON", "ATTEMPT", "MESSAGE"}, {}};
  for (const JobEvent& event : events) {
    if (!event.has_state_change()) continue;
    const nmoe::v1::StateTransition& t = event.state_change();
    table.rows.push_back({std::to_string(event.seq()), FormatTimestamp(event.time()),
                          EnumName(t.from()), EnumName(t.to()), t.reason(),
                          std::to_string(t.attempt()), t.message()});
  }
  return table;
}

std::string DescribeJobText(const Job& job, absl::Time now) {
  auto when = [&](const google::protobuf::Timestamp& t) {
    if (t.seconds() == 0 && t.nanos() == 0) return std::string("-");
    return fmt::format("{} ({} ago)", FormatTimestamp(t), FormatAge(t, now));
  };
  std::string labels;
  for (const auto& [k, v] :
       std::map<std::string, std::string>(job.spec().labels().begin(), job.spec().labels().end())) {
    labels += (labels.empty() ? "" : ", ") + k + "=" + v;
  }
  std::string workers;
  for (const std::string& w : job.worker_ids()) workers += (workers.empty() ? "" : ", ") + w;
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"ID", job.id()},
      {"Name", job.spec().name().empty() ? "-" : job.spec().name()},
      {"Kind", EnumName(job.kind())},
      {"State", EnumName(job.state())},
      {"Attempt", fmt::format("{} (restarts used {} of {})", job.attempt(), job.restarts_used(),
                              job.max_restarts())},
      {"Idempotency key", job.idempotency_key().empty() ? "-" : job.idempotency_key()},
      {"Labels", labels.empty() ? "-" : labels},
      {"Created", when(job.create_time())},
      {"Started", when(job.start_time())},
      {"Ended", when(job.end_time())},
      {"Updated", when(job.update_time())},
      {"Workers", workers.empty() ? "-" : workers},
      {"Progress", job.has_progress() ? RenderProgressLine(job.progress()) : "-"},
      {"Last transition",
       job.has_last_transition() ? DescribeTransition(job.last_transition()) : "-"},
  };
  return RenderKeyValues(pairs);
}

}  // namespace nmoe::cli
