// Bearer-token authentication and role-based authorization of RPCs
// (docs/security.md).
//
// Contract: Authorize() returns OK when the call may run: auth is disabled, or
// the call carries "authorization: Bearer <token>" with a configured token
// whose role the table of coordinator/rpc_roles.cc allows for `method`.
// UNAUTHENTICATED when the token is missing or unknown; PERMISSION_DENIED,
// naming the role and the method, when the role may not call it, and for a
// method missing from the table even with auth disabled (fails closed).
// No message ever echoes the presented token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/callback_common.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/role.h"
#include "common/token_file.h"

namespace nmoe::coordinator {

class Authenticator {
 public:
  // No tokens = authentication disabled.
  explicit Authenticator(std::vector<TokenEntry> tokens) : tokens_(std::move(tokens)) {}
  bool enabled() const { return !tokens_.empty(); }

  // `method` is the protobuf full name, e.g. "nmoe.v1.JobService.SubmitJob".
  absl::Status Authorize(const grpc::ServerContextBase& context, std::string_view method) const;

  // The role of the call's token (admin when auth is disabled).
  absl::StatusOr<Role> Authenticate(const grpc::ServerContextBase& context) const;

 private:
  std::vector<TokenEntry> tokens_;
};

}  // namespace nmoe::coordinator
