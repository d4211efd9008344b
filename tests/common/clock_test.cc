#include "common/clock.h"

#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace nmoe {
namespace {

TEST(FakeClockTest, DefaultStartIsFixed) {
  FakeClock clock;
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1'700'000'000));
  // It does not move by itself.
  EXPECT_EQ(clock.Now(), clock.Now());
}

TEST(FakeClockTest, StartsWhereTold) {
  const absl::Time start = absl::FromUnixMillis(-12'345);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
}

TEST(FakeClockTest, AdvanceAccumulates) {
  FakeClock clock(absl::UnixEpoch());
  clock.Advance(absl::Seconds(3));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(3));
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(3'250));
  clock.Advance(absl::ZeroDuration());
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(3'250));
  clock.Advance(-absl::Seconds(4));
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(-750));
  clock.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(clock.Now() - absl::FromUnixMillis(-750), absl::Nanoseconds(1));
}

TEST(FakeClockTest, UsableThroughTheClockInterface) {
  FakeClock fake(absl::FromUnixSeconds(100));
  const Clock& clock = fake;
  fake.Advance(absl::Minutes(1));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(160));
}

TEST(FakeClockTest, ConcurrentAdvancesAreNotLost) {
  FakeClock clock(absl::UnixEpoch());
  constexpr int kThreads = 4;
  constexpr int kSteps = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSteps; ++i) {
        clock.Advance(absl::Microseconds(1));
        (void)clock.Now();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Microseconds(kThreads * kSteps));
}

TEST(SystemClockTest, FollowsTheWallClock) {
  SystemClock* clock = SystemClock::Get();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock, SystemClock::Get());
  const absl::Time before = absl::Now();
  const absl::Time now = clock->Now();
  const absl::Time after = absl::Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace nmoe
