#include "coordinator/event_hub.h"

namespace nmoe::coordinator {

uint64_t EventHub::Subscribe(const std::string& job_id, Callback callback) {
  std::lock_guard lock(mu_);
  const uint64_t handle = next_handle_++;
  by_job_.emplace(job_id, handle);
  callbacks_.emplace(handle, std::make_pair(job_id, std::move(callback)));
  return handle;
}

void EventHub::Unsubscribe(uint64_t handle) {
  std::lock_guard lock(mu_);
  auto it = callbacks_.find(handle);
  if (it == callbacks_.end()) return;
  auto range = by_job_.equal_range(it->second.first);
  for (auto j = range.first; j != range.second; ++j) {
    if (j->second == handle) {
      by_job_.erase(j);
      break;
    }
  }
  callbacks_.erase(it);
}

// Callbacks run under mu_: that is what makes Unsubscribe a barrier.
void EventHub::Notify(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto range = by_job_.equal_range(job_id);
  for (auto j = range.first; j != range.second; ++j) callbacks_.at(j->second).second();
}

void EventHub::NotifyAll() {
  std::lock_guard lock(mu_);
  for (auto& [handle, entry] : callbacks_) entry.second();
}

size_t EventHub::subscriber_count() const {
  std::lock_guard lock(mu_);
  return callbacks_.size();
}

}  // namespace nmoe::coordinator
