// Running a helper program (apt-get, dpkg-deb) and capturing its output.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::data {

struct CommandResult {
  int exit_code = 0;  // 128 + signal when the child was killed by a signal
  std::string out;    // captured stdout
  std::string err;    // captured stderr
};

// Full path of `program` found on $PATH, or NOT_FOUND.
absl::StatusOr<std::string> FindProgram(const std::string& program);

// Runs argv (argv[0] looked up on $PATH) in `cwd` (empty: the current directory),
// waits for it and captures both streams. A non-zero exit is NOT an error here: the
// caller reads `exit_code`. Errors: NOT_FOUND (program not on $PATH), INTERNAL
// (fork/pipe failures).
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& cwd = "");

}  // namespace nmoe::data
