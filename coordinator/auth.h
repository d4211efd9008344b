// Bearer-token authentication of RPCs.
//
// Contract: Check() returns OK when auth is disabled or the call carries
// "authorization: Bearer <token>" with a configured token; UNAUTHENTICATED
// otherwise, with a message that never echoes the presented token.
#pragma once

#include <string>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/callback_common.h>

#include "absl/status/status.h"

namespace nmoe::coordinator {

class Authenticator {
 public:
  // No tokens = authentication disabled.
  explicit Authenticator(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}
  bool enabled() const { return !tokens_.empty(); }
  absl::Status Check(const grpc::ServerContextBase& context) const;

 private:
  std::vector<std::string> tokens_;
};

}  // namespace nmoe::coordinator
