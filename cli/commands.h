// nmoectl's commands. Each Add* function declares its subcommands and flags
// on the root CLI11 app and records the function that runs each of them.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

#include "cli/session.h"
#include "cli/watch.h"

namespace nmoe::cli {

// The runnable (leaf) subcommands and their functions.
class CommandTable {
 public:
  void Add(CLI::App* app, CommandFn fn) { entries_.push_back({app, std::move(fn)}); }
  // The function of the subcommand given on the command line, or nullptr.
  const CommandFn* Selected() const {
    for (const Entry& entry : entries_) {
      if (entry.app->parsed()) return &entry.fn;
    }
    return nullptr;
  }

 private:
  struct Entry {
    CLI::App* app;
    CommandFn fn;
  };
  std::vector<Entry> entries_;
};

void AddSubmitCommand(CLI::App& root, CommandTable& table);    // submit
void AddJobCommands(CLI::App& root, CommandTable& table);      // get, describe, list, cancel
void AddEventsCommand(CLI::App& root, CommandTable& table);    // events
void AddWatchCommand(CLI::App& root, CommandTable& table);     // watch
void AddWorkersCommand(CLI::App& root, CommandTable& table);   // workers
void AddResultsCommands(CLI::App& root, CommandTable& table);  // plan show|list, neurons
void AddEvalCommand(CLI::App& root, CommandTable& table);     // eval JOB
void AddPlanComputeCommand(CLI::App& root, CommandTable& table);  // plan compute (local; after AddResultsCommands)
void AddPlotPlansCommand(CLI::App& root, CommandTable& table);    // plot plans
void AddReportCommand(CLI::App& root, CommandTable& table);    // report JOB
void AddServerCommands(CLI::App& root, CommandTable& table);   // health, version
void AddTokenizeCommand(CLI::App& root, CommandTable& table);  // tokenize (local)
void AddLocalCommands(CLI::App& root, CommandTable& table);    // local up|down|status

// Follows the job and prints its events per --output (shared by watch and
// submit --watch). Returns the exit code of the job's final state.
absl::StatusOr<int> RunWatch(Session& session, const WatchOptions& options);

// ListJobEvents from `from_seq`, following next_seq until no more events
// exist or `limit` (0 = no limit) events are collected. The result's
// next_seq is where a later call would continue (0 = none yet).
absl::StatusOr<nmoe::v1::ListJobEventsResponse> FetchEvents(Session& session,
                                                            const std::string& job_id,
                                                            uint64_t from_seq, uint32_t limit);

}  // namespace nmoe::cli
