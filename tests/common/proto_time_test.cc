#include "common/proto_time.h"

#include <cstdint>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace nmoe {
namespace {

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(ProtoTimeTest, EpochIsZero) {
  const auto ts = ToProtoTime(absl::UnixEpoch());
  EXPECT_EQ(ts.seconds(), 0);
  EXPECT_EQ(ts.nanos(), 0);
  EXPECT_EQ(FromProtoTime(ts), absl::UnixEpoch());
}

TEST(ProtoTimeTest, PositiveTimeSplitsIntoSecondsAndNanos) {
  const absl::Time t = absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(123'456'789);
  const auto ts = ToProtoTime(t);
  EXPECT_EQ(ts.seconds(), 1'700'000'000);
  EXPECT_EQ(ts.nanos(), 123'456'789);
}

TEST(ProtoTimeTest, PreEpochTimesKeepNanosNonNegative) {
  // Timestamp requires 0 <= nanos < 1e9 with seconds rounded towards -infinity.
  struct Case {
    int64_t unix_nanos;
    int64_t seconds;
    int32_t nanos;
  };
  const std::vector<Case> cases = {
      {-1, -1, 999'999'999},
      {-999'999'999, -1, 1},
      {-1'000'000'000, -1, 0},
      {-1'000'000'001, -2, 999'999'999},
      {-1'500'000'000, -2, 500'000'000},
      {-86'400'000'000'000, -86'400, 0},
  };
  for (const auto& c : cases) {
    const auto ts = ToProtoTime(absl::FromUnixNanos(c.unix_nanos));
    EXPECT_EQ(ts.seconds(), c.seconds) << c.unix_nanos;
    EXPECT_EQ(ts.nanos(), c.nanos) << c.unix_nanos;
  }
}

TEST(ProtoTimeTest, FromProtoTimeAddsNanosToSeconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(-2);
  ts.set_nanos(500'000'000);
  EXPECT_EQ(FromProtoTime(ts), absl::UnixEpoch() - absl::Milliseconds(1'500));
  ts.set_seconds(10);
  ts.set_nanos(1);
  EXPECT_EQ(FromProtoTime(ts), absl::FromUnixSeconds(10) + absl::Nanoseconds(1));
}

TEST(ProtoTimeTest, RoundTripsExactly) {
  const std::vector<absl::Time> times = {
      absl::UnixEpoch(),
      absl::FromUnixNanos(1),
      absl::FromUnixNanos(-1),
      absl::FromUnixNanos(-1'000'000'000),
      absl::FromUnixNanos(-1'000'000'001),
      absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(999'999'999),
      Utc(1969, 12, 31, 23, 59, 59) + absl::Nanoseconds(1),
      Utc(1900, 1, 1) + absl::Nanoseconds(7),
      Utc(1700, 6, 15, 12, 0, 0) + absl::Nanoseconds(123'456'789),
      Utc(2100, 2, 28, 23, 59, 59) + absl::Nanoseconds(999'999'999),
      Utc(2250, 1, 1) + absl::Nanoseconds(42),
  };
  for (absl::Time t : times) {
    const auto ts = ToProtoTime(t);
    EXPECT_GE(ts.nanos(), 0) << t;
    EXPECT_LT(ts.nanos(), 1'000'000'000) << t;
    EXPECT_EQ(FromProtoTime(ts), t) << t;
    // And the other way: a normalised Timestamp survives too.
    const auto again = ToProtoTime(FromProtoTime(ts));
    EXPECT_EQ(again.seconds(), ts.seconds()) << t;
    EXPECT_EQ(again.nanos(), ts.nanos()) << t;
  }
}

TEST(ProtoTimeTest, SubNanosecondPartsRoundDown) {
  // absl::Time has quarter-nanosecond resolution; a Timestamp has nanoseconds.
  const absl::Time t = absl::FromUnixSeconds(5) + absl::Nanoseconds(10) + absl::Nanoseconds(1) / 4;
  const auto ts = ToProtoTime(t);
  EXPECT_EQ(ts.seconds(), 5);
  EXPECT_EQ(ts.nanos(), 10);
  const absl::Time before = absl::UnixEpoch() - absl::Nanoseconds(1) / 4;
  const auto ts2 = ToProtoTime(before);
  EXPECT_EQ(ts2.seconds(), -1);
  EXPECT_EQ(ts2.nanos(), 999'999'999);
}

}  // namespace
}  // namespace nmoe
