// Job-attempt scoped key-value store for collective rendezvous (a Gloo
// store, NCCL unique ids, worker addresses). In memory: an attempt that
// outlives a coordinator restart re-forms its gang anyway.
//
// Wait() completes asynchronously: at once when every key exists, when the
// last missing key is set, or with DEADLINE_EXCEEDED from Expire() after its
// deadline. Callbacks run without the internal lock held.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nmoe::coordinator {

struct KvScopeKey {
  std::string job_id;
  uint32_t attempt = 0;
  auto operator<=>(const KvScopeKey&) const = default;
};

class Rendezvous {
 public:
  using WaitCallback = std::function<void(absl::StatusOr<std::vector<std::string>>)>;

  static constexpr size_t kMaxKeyBytes = 512;
  static constexpr size_t kMaxValueBytes = 1 << 20;
  static constexpr size_t kMaxKeysPerScope = 65536;

  absl::Status Set(const KvScopeKey& scope, const std::string& key, std::string value);
  // std::nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(const KvScopeKey& scope, const std::string& key);
  // Integer add on a decimal value (absent = 0). INVALID_ARGUMENT when the
  // stored value is not an integer or the sum overflows.
  absl::StatusOr<int64_t> Add(const KvScopeKey& scope, const std::string& key, int64_t delta);
  void Wait(const KvScopeKey& scope, std::vector<std::string> keys, absl::Time deadline, WaitCallback done);
  // Fails waiters whose deadline passed.
  void Expire(absl::Time now);
  // Drops every key of scopes of `job_id` whose attempt is below `live_attempt`
  // (all when live_attempt is 0) and fails their waiters with ABORTED.
  void DropJob(const std::string& job_id, uint32_t live_attempt);
  size_t waiter_count() const;

 private:
  struct Waiter {
    KvScopeKey scope;
    std::vector<std::string> keys;
    absl::Time deadline;
    WaitCallback done;
  };
  using Ready = std::vector<std::pair<WaitCallback, absl::StatusOr<std::vector<std::string>>>>;
  absl::Status CheckKey(const std::string& key) const;
  // Moves satisfied waiters of `scope` to `ready`. mu_ held.
  void Collect(const KvScopeKey& scope, Ready& ready);
  static void Run(Ready& ready);

  mutable std::mutex mu_;
  std::map<KvScopeKey, std::map<std::string, std::string>> data_;
  std::list<Waiter> waiters_;
};

}  // namespace nmoe::coordinator
