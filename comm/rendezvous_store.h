// A small key-value store that the ranks of one gang rendezvous through: Gloo
// publishes its listening addresses in it, NCCL its unique id. Torch-free.
//
// Contract: keys are set once per communicator (values are opaque bytes); Get
// and Wait block until the keys exist or the timeout passes, and then return
// DEADLINE_EXCEEDED naming the keys still missing. Implementations are safe to
// call from several threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nmoe::comm {

class RendezvousStore {
 public:
  virtual ~RendezvousStore() = default;

  virtual absl::Status Set(const std::string& key, const std::string& value) = 0;
  // The values of `keys`, in order, once all exist.
  virtual absl::StatusOr<std::vector<std::string>> Wait(const std::vector<std::string>& keys,
                                                        absl::Duration timeout) = 0;
  // Adds `delta` to the integer at `key` (absent = 0); returns the sum.
  virtual absl::StatusOr<int64_t> Add(const std::string& key, int64_t delta) = 0;

  // Wait() for one key.
  absl::StatusOr<std::string> Get(const std::string& key, absl::Duration timeout);
};

// The store for ranks that are threads of one process (tests, single-host tools).
class InMemoryRendezvousStore : public RendezvousStore {
 public:
  absl::Status Set(const std::string& key, const std::string& value) override;
  absl::StatusOr<std::vector<std::string>> Wait(const std::vector<std::string>& keys,
                                                absl::Duration timeout) override;
  absl::StatusOr<int64_t> Add(const std::string& key, int64_t delta) override;

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::string> data_;
};

// "a', 'b" for error messages naming missing keys.
std::string JoinKeys(const std::vector<std::string>& keys);

}  // namespace nmoe::comm
