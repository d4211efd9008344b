// CoordinatorRendezvousStore against a real in-process coordinator (port 0,
// RocksDB in a temp dir): the job-attempt scope, waits longer than one KvWait
// call, timeouts naming the missing keys, stale attempts and bad tokens.
#include "comm/coordinator_rendezvous_store.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/comm/coordinator_gang.h"

namespace nmoe::comm {
namespace {

using ::testing::HasSubstr;

class CoordinatorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gang = testing::CoordinatorGang::Start(dir_.path(), 2);
    ASSERT_TRUE(gang.ok()) << gang.status();
    gang_ = std::move(*gang);
  }
  CoordinatorRendezvousStore Store(int rank, CoordinatorStoreOptions options = {}) {
    options.token = testing::CoordinatorGang::kToken;
    options.job_id = gang_->job_id();
    options.attempt = gang_->attempt();
    options.worker_id = gang_->worker_id(rank);
    return CoordinatorRendezvousStore(gang_->channel(), options);
  }

  ::nmoe::testing::TempDir dir_;
  std::unique_ptr<testing::CoordinatorGang> gang_;
};

TEST_F(CoordinatorStoreTest, SetGetAddAcrossTwoClients) {
  auto a = Store(0);
  auto b = Store(1);
  ASSERT_TRUE(a.Set("addr/0", std::string("\x00\x01\xff", 3)).ok());
  auto got = b.Get("addr/0", absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::string("\x00\x01\xff", 3));
  EXPECT_EQ(*a.Add("count", 2), 2);
  EXPECT_EQ(*b.Add("count", 3), 5);
  auto both = b.Wait({"count", "addr/0"}, absl::Seconds(5));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_THAT(*both, ::testing::ElementsAre("5", std::string("\x00\x01\xff", 3)));
}

TEST_F(CoordinatorStoreTest, LongWaitsLoopOverBoundedCalls) {
  CoordinatorStoreOptions options;
  options.max_wait_call = absl::Milliseconds(100);
  auto waiter = Store(0, options);
  auto setter = Store(1);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_TRUE(setter.Set("late", "v").ok());
  });
  const absl::Time start = absl::Now();
  auto got = waiter.Get("late", absl::Seconds(10));
  late.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "v");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(650));
}

TEST_F(CoordinatorStoreTest, TimeoutNamesOnlyTheMissingKeys) {
  auto store = Store(0);
  ASSERT_TRUE(store.Set("here", "1").ok());
  const absl::Time start = absl::Now();
  auto got = store.Wait({"here", "rank/1"}, absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("keys 'rank/1' not set"));
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(gang_->job_id()));
}

TEST_F(CoordinatorStoreTest, AStaleAttemptOrABadTokenIsRefused) {
  CoordinatorStoreOptions options;
  options.token = testing::CoordinatorGang::kToken;
  options.job_id = gang_->job_id();
  options.attempt = gang_->attempt() + 1;
  CoordinatorRendezvousStore stale(gang_->channel(), options);
  absl::Status s = stale.Set("k", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("rendezvous KvSet 'k'"));
  EXPECT_EQ(stale.Get("k", absl::Seconds(1)).status().code(), absl::StatusCode::kFailedPrecondition);
  options.attempt = gang_->attempt();
  options.token = "wrong";
  CoordinatorRendezvousStore unauthenticated(gang_->channel(), options);
  EXPECT_EQ(unauthenticated.Add("k", 1).status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace nmoe::comm
