// Tells watchers that a job has new events. Notifications carry no data:
// a watcher reads the events it has not seen from the JobStore.
//
// Contract: a callback runs on the notifying thread, never after
// Unsubscribe() returned, and never concurrently with itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace nmoe::coordinator {

class EventHub {
 public:
  using Callback = std::function<void()>;

  // Returns a handle for Unsubscribe.
  uint64_t Subscribe(const std::string& job_id, Callback callback);
  void Unsubscribe(uint64_t handle);
  void Notify(const std::string& job_id);
  // Wakes every subscriber (shutdown).
  void NotifyAll();
  size_t subscriber_count() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_handle_ = 1;
  std::multimap<std::string, uint64_t> by_job_;
  std::unordered_map<uint64_t, std::pair<std::string, Callback>> callbacks_;
};

}  // namespace nmoe::coordinator
