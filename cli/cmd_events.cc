// events JOB [--from-seq N] [--limit N]: the job's event log (ListJobEvents).
#include <fmt/format.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/job_view.h"

namespace nmoe::cli {

absl::StatusOr<nmoe::v1::ListJobEventsResponse> FetchEvents(Session& session,
                                                            const std::string& job_id,
                                                            uint64_t from_seq, uint32_t limit) {
  constexpr uint32_t kMaxPage = 1000;
  Client& client = session.client();
  nmoe::v1::ListJobEventsResponse all;
  uint64_t next = from_seq;
  while (true) {
    nmoe::v1::ListJobEventsRequest request;
    request.set_job_id(job_id);
    request.set_from_seq(next);
    const uint32_t wanted =
        limit == 0 ? kMaxPage : limit - static_cast<uint32_t>(all.events_size());
    request.set_page_size(std::min(wanted, kMaxPage));
    absl::StatusOr<nmoe::v1::ListJobEventsResponse> page =
        client.Call(client.jobs(), &nmoe::v1::JobService::Stub::ListJobEvents, request);
    if (!page.ok()) return page.status();
    bool dropped = false;  // the page held more events than the limit allows
    for (nmoe::v1::JobEvent& event : *page->mutable_events()) {
      if (limit != 0 && static_cast<uint32_t>(all.events_size()) >= limit) {
        dropped = true;
        break;
      }
      *all.add_events() = std::move(event);
    }
    if (dropped) {
      all.set_next_seq(all.events().rbegin()->seq() + 1);
      break;
    }
    all.set_next_seq(page->next_seq());
    // Stop at the end, at the limit, or if the server made no progress.
    if (page->next_seq() == 0 || page->events_size() == 0 || page->next_seq() <= next) break;
    if (limit != 0 && static_cast<uint32_t>(all.events_size()) >= limit) break;
    next = page->next_seq();
  }
  return all;
}

void AddEventsCommand(CLI::App& root, CommandTable& table) {
  struct Flags {
    std::string job_id;
    uint64_t from_seq = 0;
    uint32_t limit = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd =
      root.add_subcommand("events", "List a job's events (state changes, progress, logs)");
  cmd->add_option("job", flags->job_id, "Job id")->required();
  cmd->add_option("--from-seq", flags->from_seq, "First event to list (default: the first)");
  cmd->add_option("--limit", flags->limit, "At most this many events (0 = all)")
      ->capture_default_str();
  table.Add(cmd, [flags](Session& session) -> absl::StatusOr<int> {
    absl::StatusOr<nmoe::v1::ListJobEventsResponse> events =
        FetchEvents(session, flags->job_id, flags->from_seq, flags->limit);
    if (!events.ok()) return events.status();
    if (absl::Status s = session.Print(*events, EventTable(events->events())); !s.ok()) return s;
    return 0;
  });
}

}  // namespace nmoe::cli
