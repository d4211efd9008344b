#include "cli/errors.h"

#include <fmt/format.h>
#include <grpcpp/support/status.h>

#include "absl/strings/cord.h"
#include "common/grpc_status.h"

namespace nmoe::cli {
namespace {

// Status payload that marks a usage error (its value is irrelevant).
constexpr char kUsagePayloadUrl[] = "type.nmoe.dev/nmoe.cli.UsageError";

}  // namespace

const char kExitCodeHelp[] =
    "Exit codes:\n"
    "  0  success (a watched job SUCCEEDED; health is SERVING)\n"
    "  1  the watched job ended FAILED; health is not SERVING\n"
    "  2  usage error: bad flags, unreadable or invalid job/token/CA file\n"
    "  3  the watched job ended CANCELLED\n"
    "  4  RPC error: \"error: <GRPC_CODE>: <message>\" on stderr\n"
    "Environment: NMOE_ADDRESS, NMOE_TOKEN, NMOE_TOKEN_FILE.";

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayloadUrl, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kUsagePayloadUrl).has_value();
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  return kExitRpcError;
}

std::string FormatError(const absl::Status& status) {
  const std::string message(status.message());
  if (IsUsageError(status)) return fmt::format("error: {}", message);
  const char* code = GrpcCodeName(static_cast<grpc::StatusCode>(status.code()));
  return fmt::format("error: {}: {}", code, message);
}

}  // namespace nmoe::cli
