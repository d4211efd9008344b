// Child processes for tests that run the real daemons.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nmoe::testing {

// Path of a built binary: $NMOE_BUILD_DIR/<relative>.
std::string BuildPath(const std::string& relative);

class ChildProcess {
 public:
  // Starts argv[0] with the arguments; stdout/stderr go to `log_file`.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv, const std::string& log_file);
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // SIGKILLs a still-running child

  pid_t pid() const { return pid_; }
  void Kill(int signal);
  // Exit status (or 128 + signal); DEADLINE_EXCEEDED when still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// Waits until `path` exists and holds at least `lines` lines; returns them.
absl::StatusOr<std::vector<std::string>> WaitForFileLines(const std::string& path, size_t lines,
                                                          absl::Duration timeout);

}  // namespace nmoe::testing
