// The wire format of grpc.health.v1.Health/Check, written by hand: the
// health proto is not among nmoe's protos and gRPC 1.51 ships no client
// stub for it, so nmoectl calls it through grpc::GenericStub.
//   message HealthCheckRequest  { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace nmoe::cli {

inline constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum HealthStatus : int {
  kHealthUnknown = 0,
  kHealthServing = 1,
  kHealthNotServing = 2,
  kHealthServiceUnknown = 3,
};

// The serialized HealthCheckRequest: empty for "" (the whole server).
std::string EncodeHealthCheckRequest(const std::string& service);

// The status of a serialized HealthCheckResponse (kHealthUnknown when the
// field is absent; numbers this build does not know are returned as they
// are). Unknown fields are skipped. INVALID_ARGUMENT for malformed bytes.
absl::StatusOr<int> DecodeHealthCheckResponse(std::string_view bytes);

// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN", or the number.
std::string HealthStatusName(int status);

}  // namespace nmoe::cli
