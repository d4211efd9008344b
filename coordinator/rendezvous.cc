#include "coordinator/rendezvous.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nmoe::coordinator {

absl::Status Rendezvous::CheckKey(const std::string& key) const {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key: must be 1-", kMaxKeyBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status Rendezvous::Set(const KvScopeKey& scope, const std::string& key, std::string value) {
  if (auto s = CheckKey(key); !s.ok()) return s;
  if (value.size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("value: larger than ", kMaxValueBytes, " bytes"));
  }
  Ready ready;
  {
    std::lock_guard lock(mu_);
    auto& keys = data_[scope];
    if (keys.size() >= kMaxKeysPerScope && !keys.count(key)) {
      return absl::ResourceExhaustedError(absl::StrCat("scope holds ", kMaxKeysPerScope, " keys already"));
    }
    keys[key] = std::move(value);
    Collect(scope, ready);
  }
  Run(ready);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Rendezvous::Get(const KvScopeKey& scope, const std::string& key) {
  if (auto s = CheckKey(key); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto scope_it = data_.find(scope);
  if (scope_it == data_.end()) return std::optional<std::string>();
  auto it = scope_it->second.find(key);
  if (it == scope_it->second.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::StatusOr<int64_t> Rendezvous::Add(const KvScopeKey& scope, const std::string& key, int64_t delta) {
  if (auto s = CheckKey(key); !s.ok()) return s;
  Ready ready;
  int64_t sum = 0;
  {
    std::lock_guard lock(mu_);
    auto& keys = data_[scope];
    int64_t current = 0;
    auto it = keys.find(key);
    if (it != keys.end() && !absl::SimpleAtoi(it->second, &current)) {
      return absl::InvalidArgumentError(absl::StrCat("key '", key, "' does not hold an integer"));
    }
    if (__builtin_add_overflow(current, delta, &sum)) {
      return absl::InvalidArgumentError(absl::StrCat("key '", key, "': the sum overflows int64"));
    }
    keys[key] = absl::StrCat(sum);
    Collect(scope, ready);
  }
  Run(ready);
  return sum;
}

void Rendezvous::Wait(const KvScopeKey& scope, std::vector<std::string> keys, absl::Time deadline,
                      WaitCallback done) {
  if (keys.empty()) {
    done(std::vector<std::string>());
    return;
  }
  for (const auto& key : keys) {
    if (auto s = CheckKey(key); !s.ok()) {
      done(s);
      return;
    }
  }
  Ready ready;
  {
    std::lock_guard lock(mu_);
    waiters_.push_back({scope, std::move(keys), deadline, std::move(done)});
    Collect(scope, ready);
  }
  Run(ready);
}

void Rendezvous::Collect(const KvScopeKey& scope, Ready& ready) {
  auto scope_it = data_.find(scope);
  if (scope_it == data_.end()) return;
  const auto& keys = scope_it->second;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->scope != scope) {
      ++it;
      continue;
    }
    std::vector<std::string> values;
    for (const auto& k : it->keys) {
      auto found = keys.find(k);
      if (found == keys.end()) break;
      values.push_back(found->second);
    }
    if (values.size() != it->keys.size()) {
      ++it;
      continue;
    }
    ready.emplace_back(std::move(it->done), std::move(values));
    it = waiters_.erase(it);
  }
}

void Rendezvous::Expire(absl::Time now) {
  Ready ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline > now) {
        ++it;
        continue;
      }
      ready.emplace_back(std::move(it->done),
                         absl::DeadlineExceededError(absl::StrCat("keys not set in time in job ", it->scope.job_id,
                                                                  " attempt ", it->scope.attempt)));
      it = waiters_.erase(it);
    }
  }
  Run(ready);
}

void Rendezvous::DropJob(const std::string& job_id, uint32_t live_attempt) {
  Ready ready;
  {
    std::lock_guard lock(mu_);
    auto stale = [&](const KvScopeKey& s) { return s.job_id == job_id && (live_attempt == 0 || s.attempt < live_attempt); };
    for (auto it = data_.begin(); it != data_.end();) {
      it = stale(it->first) ? data_.erase(it) : std::next(it);
    }
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (!stale(it->scope)) {
        ++it;
        continue;
      }
      ready.emplace_back(std::move(it->done), absl::AbortedError(absl::StrCat("attempt ", it->scope.attempt, " of job ",
                                                                             job_id, " ended")));
      it = waiters_.erase(it);
    }
  }
  Run(ready);
}

size_t Rendezvous::waiter_count() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void Rendezvous::Run(Ready& ready) {
  for (auto& [done, result] : ready) done(std::move(result));
}

}  // namespace nmoe::coordinator
