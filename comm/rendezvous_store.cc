#include "comm/rendezvous_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nmoe::comm {

absl::StatusOr<std::string> RendezvousStore::Get(const std::string& key, absl::Duration timeout) {
  auto values = Wait({key}, timeout);
  if (!values.ok()) return values.status();
  return std::move(values->front());
}

std::string JoinKeys(const std::vector<std::string>& keys) { return absl::StrJoin(keys, "', '"); }

absl::Status InMemoryRendezvousStore::Set(const std::string& key, const std::string& value) {
  if (key.empty()) return absl::InvalidArgumentError("rendezvous key: must not be empty");
  {
    std::lock_guard lock(mu_);
    data_[key] = value;
  }
  changed_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> InMemoryRendezvousStore::Wait(const std::vector<std::string>& keys,
                                                                       absl::Duration timeout) {
  std::vector<std::string> missing;
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  while (true) {
    missing.clear();
    for (const auto& key : keys) {
      if (!data_.count(key)) missing.push_back(key);
    }
    if (missing.empty()) break;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      missing.clear();
      for (const auto& key : keys) {
        if (!data_.count(key)) missing.push_back(key);
      }
      if (missing.empty()) break;
      return absl::DeadlineExceededError(absl::StrCat("rendezvous: keys '", JoinKeys(missing), "' not set within ",
                                                      absl::FormatDuration(timeout)));
    }
  }
  std::vector<std::string> values;
  values.reserve(keys.size());
  for (const auto& key : keys) values.push_back(data_.at(key));
  return values;
}

absl::StatusOr<int64_t> InMemoryRendezvousStore::Add(const std::string& key, int64_t delta) {
  if (key.empty()) return absl::InvalidArgumentError("rendezvous key: must not be empty");
  int64_t sum = 0;
  {
    std::lock_guard lock(mu_);
    int64_t current = 0;
    auto it = data_.find(key);
    if (it != data_.end() && !absl::SimpleAtoi(it->second, &current)) {
      return absl::InvalidArgumentError(absl::StrCat("rendezvous key '", key, "' does not hold an integer"));
    }
    if (__builtin_add_overflow(current, delta, &sum)) {
      return absl::InvalidArgumentError(absl::StrCat("rendezvous key '", key, "': the sum overflows int64"));
    }
    data_[key] = absl::StrCat(sum);
  }
  changed_.notify_all();
  return sum;
}

}  // namespace nmoe::comm
