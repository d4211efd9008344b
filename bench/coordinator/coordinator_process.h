// A real nmoe-coordinator child process on a throwaway data folder, for
// benchmarks. Start it before creating any thread (it forks). The child gets
// SIGKILL if this process dies, so no coordinator outlives its benchmark.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nmoe::bench {

struct CoordinatorProcessOptions {
  std::string binary;                    // path of nmoe-coordinator
  std::vector<std::string> extra_args;   // appended to the generated flags
  bool keep_dir = false;                 // leave the temporary folder (data, log) behind
  std::string parent_dir = "/tmp";       // where the temporary folder is made (/dev/shm: no disk syncs)
};

class CoordinatorProcess {
 public:
  // Creates <parent_dir>/nmoe-bench-XXXXXX with a token file, starts the coordinator on
  // 127.0.0.1:0 and waits (up to 30 s) for its port file.
  static absl::StatusOr<std::unique_ptr<CoordinatorProcess>> Start(const CoordinatorProcessOptions& options);
  // Kills the child if it still runs; removes the folder unless keep_dir.
  ~CoordinatorProcess();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& token() const { return token_; }
  const std::string& dir() const { return dir_; }
  // User + system CPU seconds the child used so far; -1 when unknown.
  double CpuSeconds() const;
  // SIGTERM, then waits up to `timeout`: the exit code, or an error (and SIGKILL) on timeout.
  absl::StatusOr<int> Stop(absl::Duration timeout);

 private:
  CoordinatorProcess() = default;
  std::string dir_, token_;
  bool keep_dir_ = false;
  pid_t pid_ = -1;
  int port_ = 0;
};

// <folder of this executable>/../coordinator/nmoe-coordinator (the build tree layout).
std::string DefaultCoordinatorBinary();

}  // namespace nmoe::bench
