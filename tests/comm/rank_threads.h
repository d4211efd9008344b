// Runs one function per rank, each on its own thread with its own Gloo
// communicator over a shared in-memory rendezvous store.
#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "comm/make_communicator.h"

namespace nmoe::comm::testing {

// fn(comm) runs on rank r's thread; returns each rank's status (the
// communicator's creation error when it failed).
inline std::vector<absl::Status> RunRanks(int world, RendezvousStore& store, const CommOptions& base,
                                          const std::function<absl::Status(Communicator&)>& fn) {
  std::vector<absl::Status> results(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      CommOptions options = base;
      options.rank = r;
      options.world_size = world;
      options.store = &store;
      auto comm = MakeCommunicator(options);
      results[r] = comm.ok() ? fn(**comm) : comm.status();
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

inline CommOptions LoopbackOptions(const std::string& prefix, absl::Duration timeout = absl::Seconds(20)) {
  CommOptions options;
  options.backend = Backend::kGloo;
  options.prefix = prefix;
  options.hostname = "127.0.0.1";
  options.timeout = timeout;
  return options;
}

}  // namespace nmoe::comm::testing
