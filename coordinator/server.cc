#include "coordinator/server.h"

#include <fstream>
#include <sstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/version.h"
#include "coordinator/rpc_metrics.h"
#include "coordinator/services.h"

namespace nmoe::coordinator {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string HostOf(const std::string& address) {
  if (absl::StartsWith(address, "[")) {
    const size_t end = address.find(']');
    return end == std::string::npos ? address : address.substr(1, end - 1);
  }
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  const std::string host = HostOf(address);
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(const ServerConfig& config,
                                                                            const Clock* clock) {
  if (config.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  std::vector<TokenEntry> tokens = config.role_tokens;
  for (const std::string& t : config.tokens) tokens.push_back({t, Role::kAdmin, false});
  if (tokens.empty() && !config.insecure_no_auth) {
    return absl::InvalidArgumentError("no auth tokens configured: pass --token-file (or NMOE_TOKEN), or "
                                      "--insecure-no-auth on a loopback address");
  }
  if (tokens.empty() && !IsLoopbackAddress(config.listen)) {
    return absl::InvalidArgumentError(absl::StrCat("refusing to serve without auth on non-loopback address ",
                                                   config.listen, "; configure tokens"));
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!config.tls_client_ca_file.empty() && config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }

  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  s->registry_ = std::make_shared<prometheus::Registry>();
  AddBuildInfo(*s->registry_, "coordinator");
  auto db = storage::RocksDbStore::Open(config.data_dir);
  if (!db.ok()) return db.status();
  s->db_ = std::move(*db);
  s->coordinator_metrics_ = std::make_unique<CoordinatorMetrics>(*s->registry_);
  auto cp = ControlPlane::Recover(s->db_.get(), clock, config.control, s->coordinator_metrics_.get());
  if (!cp.ok()) return cp.status();
  s->control_plane_ = std::move(*cp);
  s->results_ = std::make_unique<storage::ResultsStore>(s->db_.get());
  s->pipeline_driver_ = std::make_unique<PipelineDriver>(s->control_plane_.get(), s->results_.get());
  s->auth_ = std::make_unique<Authenticator>(std::move(tokens));
  s->admission_ = std::make_unique<Admission>(config.limits, s->registry_.get());

  v1::ServerInfo info;
  info.set_version(kVersion);
  info.set_git_commit(kGitCommit);
  *info.mutable_start_time() = ToProtoTime(clock->Now());
  info.set_auth_required(s->auth_->enabled());
  info.set_tls(!config.tls_cert_file.empty());
  s->job_service_ = std::make_unique<JobServiceImpl>(s->control_plane_.get(), s->auth_.get(), s->admission_.get(),
                                                    &s->shutting_down_);
  s->worker_service_ = std::make_unique<WorkerServiceImpl>(s->control_plane_.get(), s->results_.get(),
                                                          s->auth_.get(), clock);
  s->results_service_ = std::make_unique<ResultsServiceImpl>(s->results_.get(), s->auth_.get());
  s->info_service_ = std::make_unique<InfoServiceImpl>(info, s->auth_.get());

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!config.tls_cert_file.empty()) {
    auto cert = ReadFile(config.tls_cert_file, "TLS certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(config.tls_key_file, "TLS key");
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (!config.tls_client_ca_file.empty()) {
      auto client_ca = ReadFile(config.tls_client_ca_file, "TLS client CA");
      if (!client_ca.ok()) return client_ca.status();
      ssl.pem_root_certs = *client_ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    credentials = grpc::SslServerCredentials(ssl);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, credentials, &s->port_);
  builder.RegisterService(s->job_service_.get());
  builder.RegisterService(s->worker_service_.get());
  builder.RegisterService(s->results_service_.get());
  builder.RegisterService(s->info_service_.get());
  // Requests and responses alike: a bigger one fails RESOURCE_EXHAUSTED.
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<RpcMetricsInterceptorFactory>(*s->registry_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  s->server_->GetHealthCheckService()->SetServingStatus(true);

  if (!config.metrics_listen.empty()) {
    auto metrics = MetricsServer::Start(config.metrics_listen, s->registry_);
    if (!metrics.ok()) return metrics.status();
    s->metrics_ = std::move(*metrics);
  }
  if (config.tick_interval > absl::ZeroDuration()) {
    s->tick_thread_ = std::thread([server = s.get(), interval = config.tick_interval] { server->TickLoop(interval); });
  }
  return s;
}

void CoordinatorServer::TickLoop(absl::Duration interval) {
  std::unique_lock lock(tick_mu_);
  while (!shutting_down_.load()) {
    tick_cv_.wait_for(lock, absl::ToChronoMilliseconds(interval));
    if (shutting_down_.load()) break;
    lock.unlock();
    control_plane_->Tick();
    pipeline_driver_->Step();
    lock.lock();
  }
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  std::call_once(shutdown_once_, [&] {
    spdlog::info("shutting down: health NOT_SERVING, draining calls");
    if (server_) server_->GetHealthCheckService()->SetServingStatus(false);
    {
      std::lock_guard lock(tick_mu_);
      shutting_down_.store(true);
    }
    tick_cv_.notify_all();
    if (tick_thread_.joinable()) tick_thread_.join();
    control_plane_->event_hub().NotifyAll();  // watch streams end with UNAVAILABLE
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    if (server_) server_->Wait();
    metrics_.reset();
    if (db_) {
      if (auto st = db_->Close(); !st.ok()) spdlog::error("closing the database: {}", st.ToString());
    }
    spdlog::info("shut down cleanly");
  });
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

}  // namespace nmoe::coordinator
