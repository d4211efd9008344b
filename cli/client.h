// The connection to a coordinator: one channel (TLS or insecure), the
// service stubs, and the per-call settings every RPC shares: bearer-token
// metadata and, for unary calls, a deadline of --timeout.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/global_options.h"
#include "common/grpc_status.h"
#include "nmoe/v1/info_service.grpc.pb.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/results_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"

namespace nmoe::cli {

class Client {
 public:
  // Creates the channel; no connection is attempted until the first call.
  static std::unique_ptr<Client> Create(const ConnectionOptions& options);

  Client(std::shared_ptr<grpc::Channel> channel, ConnectionOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A context for a unary call: deadline now + timeout, plus
  // "authorization: Bearer <token>" when a token is set.
  std::unique_ptr<grpc::ClientContext> NewUnaryContext() const;
  // A context for a server stream (watch): the token, and no deadline (a
  // watch lasts as long as the job).
  std::unique_ptr<grpc::ClientContext> NewStreamContext() const;

  // Makes one unary call with a fresh NewUnaryContext(); a failure becomes
  // the absl::Status of the same code and message.
  //   absl::StatusOr<Job> job = client.Call(client.jobs(), &JobService::Stub::GetJob, request);
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub& stub,
                                grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request) const {
    std::unique_ptr<grpc::ClientContext> context = NewUnaryContext();
    Response response;
    grpc::Status status = (stub.*method)(context.get(), request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  nmoe::v1::JobService::Stub& jobs() { return *jobs_; }
  nmoe::v1::WorkerService::Stub& workers() { return *workers_; }
  nmoe::v1::ResultsService::Stub& results() { return *results_; }
  nmoe::v1::InfoService::Stub& info() { return *info_; }
  grpc::GenericStub& generic() { return *generic_; }

  const ConnectionOptions& options() const { return options_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  void AddAuth(grpc::ClientContext* context) const;

  std::shared_ptr<grpc::Channel> channel_;
  ConnectionOptions options_;
  std::unique_ptr<nmoe::v1::JobService::Stub> jobs_;
  std::unique_ptr<nmoe::v1::WorkerService::Stub> workers_;
  std::unique_ptr<nmoe::v1::ResultsService::Stub> results_;
  std::unique_ptr<nmoe::v1::InfoService::Stub> info_;
  std::unique_ptr<grpc::GenericStub> generic_;
};

}  // namespace nmoe::cli
