// watch JOB: the job's state changes and logs on stdout as they happen;
// progress as a live bar on a terminal stderr, else one line per event on
// stderr. With -o json / yaml every event is one record on stdout.
#include <fmt/format.h>

#include <optional>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/format.h"
#include "cli/job_view.h"
#include "cli/progress_bar.h"
#include "common/grpc_status.h"

namespace nmoe::cli {
namespace {

using nmoe::v1::JobEvent;

class EventPrinter {
 public:
  explicit EventPrinter(Session& session) : session_(session) {
    if (session.output() == OutputFormat::kTable && session.io().err_is_terminal) {
      bar_.emplace(&session.err(), session.io().terminal_width);
    }
  }
  ~EventPrinter() {
    if (bar_.has_value()) bar_->Clear();
  }

  void Print(const JobEvent& event) {
    if (session_.output() != OutputFormat::kTable) return PrintRecord(event);
    const std::string line =
        fmt::format("{} {}\n", FormatTimestamp(event.time()), DescribeEvent(event));
    if (event.has_progress()) {
      if (bar_.has_value()) {
        bar_->Update(event.progress());
      } else {
        session_.err() << line << std::flush;
      }
      return;
    }
    if (bar_.has_value()) bar_->Clear();
    session_.out() << line << std::flush;
    if (bar_.has_value()) bar_->Redraw();
  }

  void Note(const std::string& text) {
    if (bar_.has_value()) bar_->Clear();
    session_.err() << text << "\n" << std::flush;
    if (bar_.has_value()) bar_->Redraw();
  }

 private:
  void PrintRecord(const JobEvent& event) {
    absl::StatusOr<nlohmann::ordered_json> value = MessageToJsonValue(event);
    if (!value.ok()) return Note(FormatError(value.status()));
    if (session_.output() == OutputFormat::kJson) {
      session_.out() << RenderJsonLine(*value);
    } else {
      session_.out() << "---\n" << *RenderValue(*value, OutputFormat::kYaml);
    }
    session_.out().flush();
  }

  Session& session_;
  std::optional<ProgressDisplay> bar_;
};

}  // namespace

absl::StatusOr<int> RunWatch(Session& session, const WatchOptions& options) {
  if (absl::Status s = session.RequireNotCsv("watch"); !s.ok()) return s;
  EventPrinter printer(session);
  WatchCallbacks callbacks;
  callbacks.on_event = [&](const JobEvent& event) { printer.Print(event); };
  callbacks.on_retry = [&](const absl::Status& why, uint64_t seq, absl::Duration delay) {
    printer.Note(fmt::format("watch: stream broken ({}: {}); resuming from event {} in {}",
                             GrpcCodeName(static_cast<grpc::StatusCode>(why.code())),
                             std::string(why.message()), seq, absl::FormatDuration(delay)));
  };
  absl::StatusOr<nmoe::v1::JobState> state =
      FollowJob(session.client(), options, *session.io().clock, session.io().sleep, callbacks);
  if (!state.ok()) return state.status();
  return ExitCodeForJobState(*state);
}

void AddWatchCommand(CLI::App& root, CommandTable& table) {
  struct Flags {
    std::string job_id;
    uint64_t from_seq = 0;
    bool no_progress = false;
    std::string reconnect_timeout = "60s";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = root.add_subcommand(
      "watch", "Follow a job until it ends; the exit code tells how it ended (0, 1, 3)");
  cmd->add_option("job", flags->job_id, "Job id")->required();
  cmd->add_option("--from-seq", flags->from_seq, "First event to show (default: all)");
  cmd->add_flag("--no-progress", flags->no_progress, "Do not ask for progress events");
  cmd->add_option("--reconnect-timeout", flags->reconnect_timeout,
                  "Give up after the stream has been broken (unavailable, refused) this long")
      ->capture_default_str();
  table.Add(cmd, [flags](Session& session) -> absl::StatusOr<int> {
    WatchOptions options;
    options.job_id = flags->job_id;
    options.from_seq = flags->from_seq;
    options.include_progress = !flags->no_progress;
    absl::StatusOr<absl::Duration> reconnect = ParseTimeout(flags->reconnect_timeout);
    if (!reconnect.ok()) {
      return UsageError("--reconnect-timeout: " + std::string(reconnect.status().message()));
    }
    options.reconnect_timeout = *reconnect;
    return RunWatch(session, options);
  });
}

}  // namespace nmoe::cli
