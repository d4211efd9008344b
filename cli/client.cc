#include "cli/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <chrono>

namespace nmoe::cli {

std::unique_ptr<Client> Client::Create(const ConnectionOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.ca_pem;
    ssl.pem_cert_chain = options.cert_pem;
    ssl.pem_private_key = options.key_pem;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  if (options.max_reconnect_backoff > absl::ZeroDuration()) {
    const int max_ms = static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(max_ms, 100));
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::min(max_ms, 100));
  }
  return std::make_unique<Client>(grpc::CreateCustomChannel(options.address, credentials, args), options);
}

Client::Client(std::shared_ptr<grpc::Channel> channel, ConnectionOptions options)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      jobs_(nmoe::v1::JobService::NewStub(channel_)),
      workers_(nmoe::v1::WorkerService::NewStub(channel_)),
      results_(nmoe::v1::ResultsService::NewStub(channel_)),
      info_(nmoe::v1::InfoService::NewStub(channel_)),
      generic_(std::make_unique<grpc::GenericStub>(channel_)) {}

void Client::AddAuth(grpc::ClientContext* context) const {
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
}

std::unique_ptr<grpc::ClientContext> Client::NewUnaryContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.timeout));
  AddAuth(context.get());
  return context;
}

std::unique_ptr<grpc::ClientContext> Client::NewStreamContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  AddAuth(context.get());
  return context;
}

}  // namespace nmoe::cli
