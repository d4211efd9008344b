// Prometheus metrics: one registry per daemon, served over HTTP by one
// Exposer (each Exposer takes ~2 s to shut down: create one per process).
#pragma once

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
}

namespace nmoe {

class MetricsServer {
 public:
  // Serves `registry` at http://<address>/metrics. address "host:port"; port 0
  // picks a free port (see port()).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsServer();

  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

// Adds nmoe_build_info{version, git_commit, component} = 1 to `registry`.
void AddBuildInfo(prometheus::Registry& registry, const std::string& component);

}  // namespace nmoe
