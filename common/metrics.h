// Prometheus metrics: one registry per daemon, served over HTTP by one
// MetricsServer: a small HTTP/1.1 server with one thread of its own (default
// stack), answering GET /metrics with the registry in the text format 0.0.4.
// Not prometheus-cpp's CivetWeb Exposer: Debian's CivetWeb creates its threads
// with a fixed 100 KiB stack, and glibc carves the process's static TLS out of
// every thread stack; with LibTorch + OpenBLAS + glog loaded (~105 KiB of static
// TLS) pthread_create fails with EINVAL and the Exposer cannot start. The
// server also stops at once (the Exposer took ~2 s).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"

namespace nmoe {

class MetricsServer {
 public:
  // Serves `registry` at http://<address>/metrics. address "host:port"
  // ("0.0.0.0:9464", "127.0.0.1:0", "[::]:9464"); port 0 picks a free port
  // (see port()). UNAVAILABLE when the address cannot be bound,
  // INVALID_ARGUMENT when it cannot be parsed.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry);
  // Stops serving (a scrape in progress is finished first) and closes the port.
  ~MetricsServer();

  int port() const { return port_; }

 private:
  MetricsServer() = default;
  void Serve();
  void HandleConnection(int fd);

  std::shared_ptr<prometheus::Registry> registry_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a byte on [1] ends Serve()
  int port_ = 0;
  std::thread thread_;
};

// Adds nmoe_build_info{version, git_commit, component} = 1 to `registry`.
void AddBuildInfo(prometheus::Registry& registry, const std::string& component);

}  // namespace nmoe
