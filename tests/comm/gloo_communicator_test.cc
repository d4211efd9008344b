// The Gloo backend with 1, 2 and 3 ranks as threads of this process over
// loopback TCP: every collective against hand-computed values, argument
// errors, ranks that disagree, and a peer that never shows up.
#include <atomic>
#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/comm/collective_checks.h"
#include "tests/comm/rank_threads.h"

namespace nmoe::comm {
namespace {

using ::nmoe::comm::testing::CheckAllCollectives;
using ::nmoe::comm::testing::LoopbackOptions;
using ::nmoe::comm::testing::RunRanks;
using ::testing::HasSubstr;

class GlooWorldTest : public ::testing::TestWithParam<int> {};

TEST_P(GlooWorldTest, EveryCollectiveMatchesHandComputedValues) {
  InMemoryRendezvousStore store;
  auto results = RunRanks(GetParam(), store, LoopbackOptions("all"), [](Communicator& comm) {
    EXPECT_EQ(comm.backend_name(), "gloo");
    return CheckAllCollectives(comm);
  });
  for (size_t r = 0; r < results.size(); ++r) EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r];
}

TEST_P(GlooWorldTest, EveryCollectiveMatchesWithoutShapeVerification) {
  InMemoryRendezvousStore store;
  CommOptions options = LoopbackOptions("unverified");
  options.verify_shapes = false;
  auto results = RunRanks(GetParam(), store, options, CheckAllCollectives);
  for (size_t r = 0; r < results.size(); ++r) EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r];
}

TEST_P(GlooWorldTest, BarrierHoldsEveryRankUntilAllArrive) {
  const int world = GetParam();
  InMemoryRendezvousStore store;
  std::atomic<int> arrived{0};
  auto results = RunRanks(world, store, LoopbackOptions("barrier"), [&](Communicator& comm) -> absl::Status {
    for (int round = 1; round <= 3; ++round) {
      // The last rank is slow: nobody may pass the barrier before it arrives.
      if (comm.rank() == world - 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      arrived.fetch_add(1);
      if (auto s = comm.Barrier(); !s.ok()) return s;
      if (arrived.load() < round * world) return absl::InternalError("passed the barrier early");
      if (auto s = comm.Barrier(); !s.ok()) return s;  // nobody starts the next round early
    }
    return absl::OkStatus();
  });
  for (size_t r = 0; r < results.size(); ++r) EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r];
}

INSTANTIATE_TEST_SUITE_P(Worlds, GlooWorldTest, ::testing::Values(1, 2, 3),
                         [](const auto& info) { return "W" + std::to_string(info.param); });

TEST(GlooCommunicatorTest, BadArgumentsAreRejectedBeforeCommunicating) {
  InMemoryRendezvousStore store;
  CommOptions options = LoopbackOptions("args");
  options.verify_shapes = false;  // argument errors come before any communication
  auto results = RunRanks(2, store, options, [](Communicator& comm) -> absl::Status {
    auto expect = [](absl::Status s, const std::string& part) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      EXPECT_THAT(std::string(s.message()), HasSubstr(part));
    };
    expect(comm.AllReduce(torch::ones({3, 2}).t(), ReduceOp::kSum), "not contiguous");
    expect(comm.AllReduce(torch::ones({3}, torch::kUInt8), ReduceOp::kSum), "dtype Byte");
    expect(comm.AllReduce(torch::ones({3}, torch::kInt64), ReduceOp::kMean), "mean needs a floating dtype");
    expect(comm.AllReduce(torch::Tensor(), ReduceOp::kSum), "undefined");
    expect(comm.AllGather(torch::ones({3}), torch::empty({3, 3})), "expected [2, 3]");
    expect(comm.AllGather(torch::ones({3}), torch::empty({2, 3}, torch::kFloat64)), "output has dtype Double");
    expect(comm.Broadcast(torch::ones({3}), 2), "root 2 is not a rank in [0, 2)");
    expect(comm.AllToAll(torch::ones({3}), torch::empty({3})), "divisible by the world size 2");
    expect(comm.AllToAll(torch::ones({4}), torch::empty({2, 2})), "output has shape [2, 2]");
    // The communicator still works after rejected calls.
    auto t = torch::ones({2});
    if (auto s = comm.AllReduce(t, ReduceOp::kSum); !s.ok()) return s;
    return torch::equal(t, torch::full({2}, 2.0f)) ? absl::OkStatus() : absl::InternalError("wrong sum");
  });
  for (size_t r = 0; r < results.size(); ++r) EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r];
}

TEST(GlooCommunicatorTest, BadOptionsAreRejected) {
  InMemoryRendezvousStore store;
  CommOptions options = LoopbackOptions("opts");
  options.store = &store;
  options.world_size = 2;
  options.rank = 2;
  EXPECT_THAT(MakeCommunicator(options).status().message(), HasSubstr("rank 2 is not in [0, 2)"));
  options.rank = 0;
  options.device = torch::Device(torch::kCUDA, 0);
  auto gpu = MakeCommunicator(options);  // backend gloo with a CUDA device
  EXPECT_EQ(gpu.status().code(), absl::StatusCode::kInvalidArgument) << gpu.status();
  EXPECT_THAT(std::string(gpu.status().message()), HasSubstr("gloo backend works on CPU tensors"));
  if (!HaveNccl()) {
    options.backend = Backend::kNccl;
    EXPECT_EQ(MakeCommunicator(options).status().code(), absl::StatusCode::kUnimplemented);
    options.backend = Backend::kGloo;
  }
  options.device = torch::kCPU;
  options.store = nullptr;
  EXPECT_THAT(MakeCommunicator(options).status().message(), HasSubstr("rendezvous store is required"));
  EXPECT_EQ(ParseBackend("mpi").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseBackend("gloo"), Backend::kGloo);
}

TEST(GlooCommunicatorTest, RanksThatDisagreeOnTheShapeGetAnErrorNamingTheRank) {
  InMemoryRendezvousStore store;
  CommOptions options = LoopbackOptions("disagree", absl::Seconds(5));
  auto results = RunRanks(3, store, options, [](Communicator& comm) {
    auto t = torch::ones({comm.rank() == 2 ? 5 : 4});
    return comm.AllReduce(t, ReduceOp::kSum);
  });
  for (size_t r = 0; r < results.size(); ++r) {
    EXPECT_EQ(results[r].code(), absl::StatusCode::kInvalidArgument) << "rank " << r << ": " << results[r];
    EXPECT_THAT(std::string(results[r].message()), HasSubstr("rank 2 called all_reduce of Float [5]"));
  }
}

// Why verify_shapes is on by default: without it, a rank that sends more than
// its peer expects aborts the peer's process inside Gloo's I/O thread.
TEST(GlooCommunicatorDeathTest, UnverifiedShapeMismatchAbortsInsideGloo) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        InMemoryRendezvousStore store;
        CommOptions options = LoopbackOptions("mismatch", absl::Seconds(2));
        options.verify_shapes = false;
        RunRanks(2, store, options, [](Communicator& comm) {
          auto t = torch::ones({comm.rank() == 0 ? 1000 : 10});
          return comm.AllReduce(t, ReduceOp::kSum);
        });
        std::exit(0);
      },
      "preamble.length");
}

TEST(GlooCommunicatorTest, APeerThatNeverCallsFailsTheOthersWithinTheTimeout) {
  InMemoryRendezvousStore store;
  const absl::Duration timeout = absl::Seconds(1);
  auto results = RunRanks(2, store, LoopbackOptions("absent", timeout), [&](Communicator& comm) -> absl::Status {
    if (comm.rank() == 1) {
      // Stays connected but never joins: rank 0 must not wait forever.
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      return absl::OkStatus();
    }
    auto t = torch::ones({1 << 16});
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = comm.AllReduce(t, ReduceOp::kSum);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("rank 0 of 2"));
    EXPECT_GE(seconds, 0.9);
    EXPECT_LT(seconds, 2.4);
    // Broken from now on, with the first error.
    absl::Status again = comm.Barrier();
    EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
    EXPECT_THAT(std::string(again.message()), HasSubstr("broken by an earlier error"));
    return absl::OkStatus();
  });
  for (size_t r = 0; r < results.size(); ++r) EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r];
}

TEST(GlooCommunicatorTest, RendezvousWithoutThePeerTimesOutNamingItsKey) {
  InMemoryRendezvousStore store;
  CommOptions options = LoopbackOptions("lonely", absl::Milliseconds(500));
  options.store = &store;
  options.world_size = 2;
  options.rank = 0;
  auto comm = MakeCommunicator(options);
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kDeadlineExceeded) << comm.status();
  EXPECT_THAT(std::string(comm.status().message()), HasSubstr("lonely/1"));
}

}  // namespace
}  // namespace nmoe::comm
