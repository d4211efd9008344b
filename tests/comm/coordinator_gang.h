// A real in-process coordinator (127.0.0.1, port 0, RocksDB in a temp dir)
// with one job of `world` gang members, every rank leased by its own
// registered worker: the job attempt is live, so its KV scope is valid.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "coordinator/server.h"
#include "tests/support/temp_dir.h"

namespace nmoe::comm::testing {

class CoordinatorGang {
 public:
  static constexpr char kToken[] = "comm-test-token";

  static absl::StatusOr<std::unique_ptr<CoordinatorGang>> Start(const std::filesystem::path& dir, int world);
  ~CoordinatorGang();

  int port() const { return server_->port(); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& job_id() const { return job_id_; }
  uint32_t attempt() const { return attempt_; }
  // The worker holding rank r's task.
  const std::string& worker_id(int rank) const { return worker_ids_.at(rank); }

 private:
  std::unique_ptr<coordinator::CoordinatorServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string job_id_;
  uint32_t attempt_ = 0;
  std::vector<std::string> worker_ids_;
};

}  // namespace nmoe::comm::testing
