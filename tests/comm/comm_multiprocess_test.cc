// 2 and 3 rank processes on loopback that rendezvous through a real
// coordinator's KV RPCs (in this process, port 0): every collective matches
// the hand-computed values, and a SIGKILLed peer fails the others within the
// timeout instead of hanging them.
#include <fstream>
#include <iostream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/comm/coordinator_gang.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::comm {
namespace {

using ::nmoe::testing::BuildPath;
using ::nmoe::testing::ChildProcess;

struct Rank {
  ChildProcess process;
  std::string log;
};

std::vector<Rank> StartRanks(const testing::CoordinatorGang& gang, const ::nmoe::testing::TempDir& dir, int world,
                             const std::function<std::string(int)>& scenario, int timeout_ms) {
  std::vector<Rank> ranks;
  for (int r = 0; r < world; ++r) {
    const std::string log = dir.file(absl::StrCat("rank", r, ".log"));
    auto child = ChildProcess::Start(
        {BuildPath("tests/comm/comm_rank_main"), absl::StrCat(gang.port()), testing::CoordinatorGang::kToken,
         gang.job_id(), absl::StrCat(gang.attempt()), gang.worker_id(r), absl::StrCat(r), absl::StrCat(world),
         scenario(r), absl::StrCat(timeout_ms)},
        log);
    EXPECT_TRUE(child.ok()) << child.status();
    if (child.ok()) ranks.push_back({std::move(*child), log});
  }
  return ranks;
}

class MultiProcessTest : public ::testing::TestWithParam<int> {};

TEST_P(MultiProcessTest, EveryCollectiveMatchesAcrossProcesses) {
  const int world = GetParam();
  ::nmoe::testing::TempDir dir;
  auto gang = testing::CoordinatorGang::Start(dir.path(), world);
  ASSERT_TRUE(gang.ok()) << gang.status();
  auto ranks = StartRanks(**gang, dir, world, [](int) { return "collectives"; }, 20'000);
  ASSERT_EQ(static_cast<int>(ranks.size()), world);
  for (int r = 0; r < world; ++r) {
    auto code = ranks[r].process.Wait(absl::Seconds(60));
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0) << "rank " << r << ":\n" << ::nmoe::testing::ReadWholeFile(ranks[r].log);
    EXPECT_THAT(::nmoe::testing::ReadWholeFile(ranks[r].log), ::testing::HasSubstr("every collective matched"));
  }
}

INSTANTIATE_TEST_SUITE_P(Worlds, MultiProcessTest, ::testing::Values(2, 3),
                         [](const auto& info) { return "W" + std::to_string(info.param); });

TEST(MultiProcessDeathTest, AKilledPeerFailsTheOthersWithinTheTimeout) {
  constexpr int kWorld = 3;
  ::nmoe::testing::TempDir dir;
  auto gang = testing::CoordinatorGang::Start(dir.path(), kWorld);
  ASSERT_TRUE(gang.ok()) << gang.status();
  auto ranks = StartRanks(**gang, dir, kWorld, [](int r) { return r == 2 ? "die" : "survive"; }, 3'000);
  ASSERT_EQ(static_cast<int>(ranks.size()), kWorld);
  auto killed = ranks[2].process.Wait(absl::Seconds(90));
  ASSERT_TRUE(killed.ok()) << killed.status() << "\n" << ::nmoe::testing::ReadWholeFile(ranks[2].log);
  EXPECT_EQ(*killed, 128 + SIGKILL) << ::nmoe::testing::ReadWholeFile(ranks[2].log);
  for (int r = 0; r < 2; ++r) {
    auto code = ranks[r].process.Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok()) << code.status();
    const std::string log = ::nmoe::testing::ReadWholeFile(ranks[r].log);
    EXPECT_EQ(*code, 0) << "rank " << r << ":\n" << log;
    EXPECT_THAT(log, ::testing::HasSubstr("all_reduce after a peer died returned"));
    std::cout << log;
  }
}

}  // namespace
}  // namespace nmoe::comm
