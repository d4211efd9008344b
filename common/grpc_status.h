// The one place where absl::Status and grpc::Status are mapped to each other.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace nmoe {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// "INVALID_ARGUMENT", "NOT_FOUND", ... as gRPC spells its codes.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace nmoe
