// Detached child processes for `nmoectl local`: start a daemon in its own
// session with its output appended to a log, tell whether a recorded pid is
// still that daemon, and stop daemons with SIGTERM then SIGKILL.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nmoe::cli {

// A daemon started by `local up`: its pid and the binary it runs.
struct LocalProcess {
  std::string name;    // "coordinator", "cpu-1", ...
  pid_t pid = -1;
  std::string binary;  // absolute path of the executable (argv[0])
  std::string log;     // where its stdout/stderr go
};

// Starts argv (argv[0] an absolute path or a name looked up in PATH) in a new
// session (setsid), stdin /dev/null, stdout and stderr appended to `log`.
// Fails with the exec error when the program cannot be started.
absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv, const std::string& log);

// True when `process.pid` runs and its argv[0] is `process.binary` (a
// reused pid or a zombie does not count).
bool IsRunning(const LocalProcess& process);

// True when `pid` is our child and has exited (reaps it); false otherwise.
bool ChildExited(pid_t pid);

// SIGTERM to every running process, waits up to `grace` for all of them to
// go, then SIGKILL to the rest and waits up to 5 s more. Returns the names of
// the processes that needed SIGKILL.
std::vector<std::string> StopProcesses(const std::vector<LocalProcess>& processes, absl::Duration grace);

// Cores this process may run on (sched_getaffinity), at least 1.
int UsableCores();

// The path of a daemon (`relative` e.g. "worker/nmoe-worker"): with `bin_dir`
// given, <bin_dir>/<relative> or <bin_dir>/<basename>; otherwise
// <build>/<relative> when nmoectl runs from a build tree (<build>/cli/nmoectl),
// else <dir of nmoectl>/<basename>, else the basename found in PATH. Empty
// when none exists.
std::string FindDaemon(const std::string& bin_dir, const std::string& relative);

}  // namespace nmoe::cli
