#include "cli/app.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/errors.h"

namespace nmoe::cli {
namespace {

// Global flags; given twice, the last one wins (nmoectl --timeout 5s get J --timeout 1s).
void AddGlobalFlags(CLI::App& app, GlobalFlags& flags) {
  constexpr auto kLast = CLI::MultiOptionPolicy::TakeLast;
  app.add_option(
         "--address", flags.address,
         fmt::format("Coordinator host:port (env NMOE_ADDRESS; default {})", kDefaultAddress))
      ->multi_option_policy(kLast);
  app.add_option("--token", flags.token, "Bearer token (env NMOE_TOKEN)")
      ->multi_option_policy(kLast);
  app.add_option("--token-file", flags.token_file,
                 "Token file; its first token is used (env NMOE_TOKEN_FILE)")
      ->multi_option_policy(kLast);
  app.add_flag("--tls", flags.tls, "Use TLS (system roots unless --ca)");
  app.add_option("--ca", flags.ca_file, "PEM file of root certificates for TLS (implies --tls)")
      ->multi_option_policy(kLast);
  app.add_option("--tls-cert", flags.tls_cert_file, "PEM client certificate for mutual TLS (implies --tls)")
      ->multi_option_policy(kLast);
  app.add_option("--tls-key", flags.tls_key_file, "PEM private key of --tls-cert")->multi_option_policy(kLast);
  app.add_option("--timeout", flags.timeout, "Deadline of each call, e.g. 10s, 500ms")
      ->capture_default_str()
      ->multi_option_policy(kLast);
  app.add_option("-o,--output", flags.output, "Output: table, json, yaml (csv for tables)")
      ->capture_default_str()
      ->multi_option_policy(kLast);
}

void FillDefaults(SessionIo& io) {
  if (io.in == nullptr) io.in = &std::cin;
  if (io.out == nullptr) io.out = &std::cout;
  if (io.err == nullptr) io.err = &std::cerr;
  if (!io.env) io.env = ProcessEnv();
  if (io.clock == nullptr) io.clock = SystemClock::Get();
  if (!io.sleep)
    io.sleep = [](absl::Duration d) { std::this_thread::sleep_for(absl::ToChronoMilliseconds(d)); };
}

}  // namespace

int RunNmoectl(const std::vector<std::string>& args, SessionIo io) {
  FillDefaults(io);
  CLI::App app("nmoectl: the command-line client of the nmoe coordinator", "nmoectl");
  app.footer(kExitCodeHelp);
  app.fallthrough();  // global flags may follow the command: nmoectl get JOB -o json
  app.require_subcommand(1);
  GlobalFlags flags;
  AddGlobalFlags(app, flags);
  CommandTable table;
  AddSubmitCommand(app, table);
  AddJobCommands(app, table);
  AddWatchCommand(app, table);
  AddEventsCommand(app, table);
  AddWorkersCommand(app, table);
  AddResultsCommands(app, table);
  AddEvalCommand(app, table);
  AddPlanComputeCommand(app, table);
  AddPlotPlansCommand(app, table);
  AddReportCommand(app, table);
  AddServerCommands(app, table);
  AddTokenizeCommand(app, table);
  AddLocalCommands(app, table);

  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, *io.out, *io.err);  // prints help or the error
    return code == 0 ? kExitOk : kExitUsage;
  }
  Session session(std::move(io));
  absl::StatusOr<int> result = UsageError("no command given");
  if (absl::Status status = session.Resolve(flags); !status.ok()) {
    result = status;
  } else if (const CommandFn* command = table.Selected(); command != nullptr) {
    result = (*command)(session);
  }
  if (!result.ok()) {
    session.err() << FormatError(result.status()) << "\n" << std::flush;
    return ExitCodeFor(result.status());
  }
  return *result;
}

int Main(int argc, char** argv) {
  SessionIo io;
  io.err_is_terminal = isatty(STDERR_FILENO) == 1;
  winsize size{};
  if (io.err_is_terminal && ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    io.terminal_width = size.ws_col;
  }
  std::vector<std::string> args(argv, argv + argc);
  return RunNmoectl(args, std::move(io));
}

}  // namespace nmoe::cli
