// One nmoectl invocation: its streams, clock, resolved global options, the
// lazily created Client, and helpers that print per --output.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <istream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/client.h"
#include "cli/global_options.h"
#include "cli/output.h"
#include "common/clock.h"

namespace nmoe::cli {

// What a run of nmoectl talks to; main() passes the real ones, tests fakes.
struct SessionIo {
  std::istream* in = nullptr;                 // standard input (tokenize)
  std::ostream* out = nullptr;                // results
  std::ostream* err = nullptr;                // errors, notes, progress
  bool err_is_terminal = false;               // draw a live progress bar on `err`
  int terminal_width = 80;                    // columns of `err` when it is a terminal
  EnvLookup env;                              // environment variables
  const Clock* clock = nullptr;               // "now" for ages; watch's reconnect budget
  std::function<void(absl::Duration)> sleep;  // watch's reconnect backoff
};

class Session {
 public:
  explicit Session(SessionIo io) : io_(std::move(io)) {}

  // Resolves the parsed global flags; must succeed before the getters below.
  absl::Status Resolve(const GlobalFlags& flags);

  const GlobalOptions& options() const { return options_; }
  OutputFormat output() const { return options_.output; }
  std::istream& in() { return *io_.in; }
  std::ostream& out() { return *io_.out; }
  std::ostream& err() { return *io_.err; }
  const SessionIo& io() const { return io_; }
  absl::Time Now() const { return io_.clock->Now(); }

  // The client, created on first use.
  Client& client();

  // Prints per --output: `table` as a table or CSV, `message` as JSON/YAML.
  absl::Status Print(const google::protobuf::Message& message, const Table& table);
  // Prints per --output: `text` for table, `value` as JSON/YAML; UsageError
  // for CSV (commands whose output is not one table).
  absl::Status PrintDocument(const nlohmann::ordered_json& value, const std::string& text);
  // UsageError unless --output is table, json or yaml.
  absl::Status RequireNotCsv(const std::string& command) const;

 private:
  SessionIo io_;
  GlobalOptions options_;
  std::unique_ptr<Client> client_;
};

// A runnable command: the exit code on success (0, or 1/3 for a watched
// job's end), or the error that decides it (errors.h).
using CommandFn = std::function<absl::StatusOr<int>(Session&)>;

}  // namespace nmoe::cli
