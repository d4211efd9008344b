// gloo::rendezvous::Store over a RendezvousStore, with every key under a
// prefix. Gloo's store interface reports failures by exception: errors of the
// underlying store become gloo::IoException carrying the status message.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <gloo/rendezvous/store.h>

#include "absl/time/time.h"
#include "comm/rendezvous_store.h"

namespace nmoe::comm {

class GlooStore : public gloo::rendezvous::Store {
 public:
  // `timeout` bounds get() and wait() without an explicit timeout.
  GlooStore(RendezvousStore* store, std::string prefix, absl::Duration timeout)
      : store_(store), prefix_(std::move(prefix)), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  std::string Key(const std::string& key) const { return prefix_ + "/" + key; }

  RendezvousStore* store_;
  std::string prefix_;
  absl::Duration timeout_;
};

}  // namespace nmoe::comm
