// The shape every unary handler shares: authorize, run, map the status.
#pragma once

#include <string_view>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "common/grpc_status.h"
#include "coordinator/auth.h"

namespace nmoe::coordinator {

// Runs `body` (returning absl::StatusOr<Response>) when the call's token may
// call `method` (its protobuf full name, an entry of coordinator/rpc_roles.cc),
// copies its value into `response`, and finishes the call.
template <typename Response, typename Body>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* context, const Authenticator& auth,
                                   std::string_view method, Response* response, Body&& body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = auth.Authorize(*context, method); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  auto result = body();
  if (result.ok()) *response = std::move(*result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

}  // namespace nmoe::coordinator
