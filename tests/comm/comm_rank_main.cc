// One rank of the multi-process tests: rendezvous through the coordinator's KV
// RPCs, then a scenario. Exit 0 = the scenario's expectation held; the reason
// for anything else is on stderr.
//
//   comm_rank_main PORT TOKEN JOB ATTEMPT WORKER RANK WORLD SCENARIO TIMEOUT_MS
//   SCENARIO: collectives  every collective against hand-computed values
//             die          barrier, then SIGKILL itself (a dead peer)
//             survive      barrier, then an all-reduce that must fail within
//                          TIMEOUT_MS + 3 s because a peer died
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <grpcpp/create_channel.h>

#include "comm/coordinator_rendezvous_store.h"
#include "comm/make_communicator.h"
#include "tests/comm/collective_checks.h"

namespace {

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 10) {
    std::fprintf(stderr, "usage: %s PORT TOKEN JOB ATTEMPT WORKER RANK WORLD SCENARIO TIMEOUT_MS\n", argv[0]);
    return 2;
  }
  using namespace nmoe::comm;
  const std::string scenario = argv[8];
  const absl::Duration timeout = absl::Milliseconds(std::stoi(argv[9]));
  CoordinatorStoreOptions store_options;
  store_options.token = argv[2];
  store_options.job_id = argv[3];
  store_options.attempt = static_cast<uint32_t>(std::stoul(argv[4]));
  store_options.worker_id = argv[5];
  CoordinatorRendezvousStore store(
      grpc::CreateChannel(std::string("127.0.0.1:") + argv[1], grpc::InsecureChannelCredentials()), store_options);

  CommOptions options;
  options.backend = Backend::kGloo;
  options.rank = std::stoi(argv[6]);
  options.world_size = std::stoi(argv[7]);
  options.store = &store;
  options.prefix = "test";  // every scenario of one gang shares the communicator
  options.hostname = "127.0.0.1";
  options.timeout = timeout;
  // Ranks start at different times (loading LibTorch takes seconds on a busy machine).
  options.rendezvous_timeout = absl::Seconds(60);
  auto comm = MakeCommunicator(options);
  if (!comm.ok()) return Fail("rendezvous", comm.status());

  if (scenario == "collectives") {
    if (auto s = testing::CheckAllCollectives(**comm); !s.ok()) return Fail("collectives", s);
    std::printf("rank %d: every collective matched\n", options.rank);
    return 0;
  }
  if (auto s = (*comm)->Barrier(); !s.ok()) return Fail("barrier", s);
  if (scenario == "die") {
    std::fflush(stdout);
    raise(SIGKILL);
  }
  if (scenario == "survive") {
    auto t = torch::ones({1 << 14});
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = (*comm)->AllReduce(t, ReduceOp::kSum);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("rank %d: all_reduce after a peer died returned in %.2f s: %s\n", options.rank, seconds,
                s.ToString().c_str());
    if (s.ok()) return Fail("survive", absl::InternalError("all_reduce succeeded without the dead peer"));
    if (seconds > absl::ToDoubleSeconds(timeout) + 3.0) {
      return Fail("survive", absl::InternalError("the error came later than the timeout"));
    }
    return 0;
  }
  return Fail("scenario", absl::InvalidArgumentError("unknown scenario " + scenario));
}
