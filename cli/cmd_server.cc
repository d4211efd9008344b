// health [--service NAME]: grpc.health.v1 check (exit 0 only when SERVING).
// version [--client]: this client's version and the server's.
#include <fmt/format.h>
#include <grpcpp/support/byte_buffer.h>

#include <future>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/format.h"
#include "cli/health_codec.h"
#include "common/grpc_status.h"
#include "common/version.h"

namespace nmoe::cli {
namespace {

// Calls Health/Check through the generic stub; returns the serving status.
absl::StatusOr<int> CheckHealth(Client& client, const std::string& service) {
  const std::string request_bytes = EncodeHealthCheckRequest(service);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::unique_ptr<grpc::ClientContext> context = client.NewUnaryContext();
  std::promise<grpc::Status> done;
  client.generic().UnaryCall(context.get(), kHealthCheckMethod, grpc::StubOptions(), &request,
                             &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return FromGrpcStatus(status);
  std::vector<grpc::Slice> slices;
  if (grpc::Status dumped = response.Dump(&slices); !dumped.ok()) return FromGrpcStatus(dumped);
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  absl::StatusOr<int> serving = DecodeHealthCheckResponse(bytes);
  if (!serving.ok()) return absl::InternalError(std::string(serving.status().message()));
  return serving;
}

absl::StatusOr<int> RunHealth(Session& session, const std::string& service) {
  absl::StatusOr<int> serving = CheckHealth(session.client(), service);
  if (!serving.ok()) return serving.status();
  const std::string name = HealthStatusName(*serving);
  nlohmann::ordered_json doc = {{"status", name}};
  if (!service.empty()) doc["service"] = service;
  if (absl::Status s = session.PrintDocument(doc, name + "\n"); !s.ok()) return s;
  return *serving == kHealthServing ? kExitOk : kExitFailed;
}

absl::StatusOr<int> RunVersion(Session& session, bool client_only) {
  nlohmann::ordered_json doc = {{"client", {{"version", kVersion}, {"git_commit", kGitCommit}}}};
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"Client version", fmt::format("{} (commit {})", kVersion, kGitCommit)}};
  absl::Status server_error;
  if (!client_only) {
    Client& client = session.client();
    absl::StatusOr<nmoe::v1::ServerInfo> info =
        client.Call(client.info(), &nmoe::v1::InfoService::Stub::GetServerInfo,
                    nmoe::v1::GetServerInfoRequest());
    if (info.ok()) {
      absl::StatusOr<nlohmann::ordered_json> json = MessageToJsonValue(*info);
      if (!json.ok()) return json.status();
      doc["server"] = *std::move(json);
      pairs.push_back({"Server version",
                       fmt::format("{} (commit {})", info->version(),
                                   info->git_commit().empty() ? "unknown" : info->git_commit())});
      pairs.push_back({"Server address", client.options().address});
      pairs.push_back(
          {"Server started", fmt::format("{} (up {})", FormatTimestamp(info->start_time()),
                                         FormatAge(info->start_time(), session.Now()))});
      pairs.push_back({"Auth required", info->auth_required() ? "yes" : "no"});
      pairs.push_back({"TLS", info->tls() ? "yes" : "no"});
    } else {
      server_error = info.status();
    }
  }
  if (absl::Status s = session.PrintDocument(doc, RenderKeyValues(pairs)); !s.ok()) return s;
  if (!server_error.ok()) return server_error;
  return kExitOk;
}

}  // namespace

void AddServerCommands(CLI::App& root, CommandTable& table) {
  auto service = std::make_shared<std::string>();
  CLI::App* health =
      root.add_subcommand("health", "Check the server's health (exit 0 only when SERVING)");
  health->add_option("--service", *service, "Service to check (default: the whole server)");
  table.Add(health, [service](Session& session) { return RunHealth(session, *service); });

  auto client_only = std::make_shared<bool>(false);
  CLI::App* version = root.add_subcommand("version", "Show the client's and the server's version");
  version->add_flag("--client", *client_only, "Only the client's version (no RPC)");
  table.Add(version, [client_only](Session& session) { return RunVersion(session, *client_only); });
}

}  // namespace nmoe::cli
