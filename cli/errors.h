// Exit codes of nmoectl and the mapping from a failed command's Status to
// one of them. Every command returns absl::Status / absl::StatusOr; only
// this file decides what the process exit code and error line are.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace nmoe::cli {

// The documented exit codes (docs/cli.md, `nmoectl --help`).
enum ExitCode : int {
  kExitOk = 0,            // success; a watched job SUCCEEDED; health SERVING
  kExitFailed = 1,        // a watched job ended FAILED; health not SERVING
  kExitUsage = 2,         // bad flags, unreadable or invalid job file / token / CA file
  kExitJobCancelled = 3,  // a watched job ended CANCELLED
  kExitRpcError = 4,      // an RPC failed (server error, unreachable, deadline)
};

// The `--help` footer listing the exit codes.
extern const char kExitCodeHelp[];

// A usage error: bad input from the command line or a local file, detected
// before or instead of talking to the server. Exit code 2.
absl::Status UsageError(const std::string& message);
bool IsUsageError(const absl::Status& status);

// kExitOk for OK, kExitUsage for UsageError, kExitRpcError otherwise.
int ExitCodeFor(const absl::Status& status);

// The line printed to stderr for a failed command, without a newline:
//   usage errors:  "error: <message>"
//   other errors:  "error: <GRPC_CODE>: <message>", e.g.
//                  "error: UNAUTHENTICATED: missing bearer token"
std::string FormatError(const absl::Status& status);

}  // namespace nmoe::cli
