// Channel and per-call contexts for tests against a real coordinator.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

namespace nmoe::testing {

inline std::shared_ptr<grpc::Channel> LocalChannel(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
}

// A context with a bearer token (none when empty) and a 10 s deadline.
inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

// grpc.health.v1.Health/Check for the whole server, called generically (the
// health protos are not ours). Returns the status enum: 1 SERVING, 2 NOT_SERVING;
// -1 when the call failed.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel);

// Calls `path` ("/nmoe.v1.JobService/SubmitJob") generically with an empty
// request message and the bearer `token` (none when empty); a 10 s deadline.
// Works for server-streaming methods too when the call fails before streaming.
grpc::Status GenericEmptyCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                              const std::string& token);

}  // namespace nmoe::testing
