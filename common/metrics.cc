#include "common/metrics.h"

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>

#include "absl/strings/str_cat.h"
#include "common/version.h"

namespace nmoe {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  server->exposer_->RegisterCollectable(registry);
  const auto ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  return server;
}

MetricsServer::~MetricsServer() = default;

void AddBuildInfo(prometheus::Registry& registry, const std::string& component) {
  prometheus::BuildGauge()
      .Name("nmoe_build_info")
      .Help("Build of this nmoe process; the value is always 1.")
      .Register(registry)
      .Add({{"version", kVersion}, {"git_commit", kGitCommit}, {"component", component}})
      .Set(1);
}

}  // namespace nmoe
