// workers: the workers the coordinator knows (WorkerService.ListWorkers).
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/enum_names.h"
#include "cli/format.h"

namespace nmoe::cli {
namespace {

std::string Device(const nmoe::v1::WorkerCapabilities& c) {
  if (c.device() == nmoe::v1::DEVICE_KIND_CUDA) return fmt::format("cuda:{}", c.device_index());
  return c.device() == nmoe::v1::DEVICE_KIND_UNSPECIFIED ? "cpu" : EnumName(c.device());
}

Table WorkerTable(const nmoe::v1::ListWorkersResponse& response, absl::Time now) {
  Table table{{"ID", "STATE", "DEVICE", "HOST", "THREADS", "TASK", "HEARTBEAT", "VERSION"}, {}};
  for (const nmoe::v1::Worker& w : response.workers()) {
    const nmoe::v1::WorkerCapabilities& c = w.capabilities();
    table.rows.push_back(
        {w.id(), EnumName(w.state()), Device(c), c.hostname().empty() ? "-" : c.hostname(),
         std::to_string(c.threads()), w.task_id().empty() ? "-" : w.task_id(),
         FormatAge(w.last_heartbeat_time(), now), c.version().empty() ? "-" : c.version()});
  }
  return table;
}

}  // namespace

void AddWorkersCommand(CLI::App& root, CommandTable& table) {
  CLI::App* cmd = root.add_subcommand("workers", "List workers");
  table.Add(cmd, [](Session& session) -> absl::StatusOr<int> {
    Client& client = session.client();
    absl::StatusOr<nmoe::v1::ListWorkersResponse> response =
        client.Call(client.workers(), &nmoe::v1::WorkerService::Stub::ListWorkers,
                    nmoe::v1::ListWorkersRequest());
    if (!response.ok()) return response.status();
    if (absl::Status s = session.Print(*response, WorkerTable(*response, session.Now())); !s.ok()) {
      return s;
    }
    return 0;
  });
}

}  // namespace nmoe::cli
