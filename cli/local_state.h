// <dir>/local.json: what `nmoectl local up` started (the coordinator's
// address, the token file and every daemon's pid), read by `local down` and
// `local status`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/local_processes.h"

namespace nmoe::cli {

// Where the other commands look for `local up`'s coordinator when neither
// --address nor NMOE_ADDRESS is given (global_options.cc).
inline constexpr char kLocalStateFile[] = ".nmoe/local.json";

struct LocalState {
  std::string address;     // 127.0.0.1:<port>
  int metrics_port = 0;    // the coordinator's /metrics
  std::string token_file;  // absolute
  std::string data_dir;    // the coordinator's RocksDB folder
  std::string work_dir;    // the workers' --work-dir
  int workers = 0;
  int threads_per_worker = 0;
  LocalProcess coordinator;
  std::vector<LocalProcess> worker_processes;

  // Workers first, then the coordinator (the order `local down` stops them).
  std::vector<LocalProcess> StopOrder() const;
};

// nullopt when `path` does not exist; an error naming the file when it is
// not a valid state file.
absl::StatusOr<std::optional<LocalState>> ReadLocalState(const std::string& path);
absl::Status WriteLocalState(const std::string& path, const LocalState& state);

}  // namespace nmoe::cli
