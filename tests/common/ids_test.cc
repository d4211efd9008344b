#include "common/ids.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace nmoe {
namespace {

// The alphabet ids.h documents: Crockford-like base32 in ASCII order (no i, l, o, u).
constexpr std::string_view kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";

// Decodes base32 characters as ids.h describes them, independently of ids.cc.
uint64_t Decode(std::string_view chars) {
  uint64_t v = 0;
  for (char c : chars) {
    const size_t digit = kAlphabet.find(c);
    EXPECT_NE(digit, std::string_view::npos) << chars;
    v = v * 32 + digit;
  }
  return v;
}
uint64_t TimeOf(std::string_view id, std::string_view prefix) { return Decode(id.substr(prefix.size() + 1, 10)); }
uint64_t RandomOf(std::string_view id, std::string_view prefix) { return Decode(id.substr(prefix.size() + 11, 10)); }

// NewId is monotonic within the process (an id never sorts before the one made
// just before it, whatever `now` says), so tests that check the encoded time
// take times above every time used so far in this binary. Each call returns a
// fresh millisecond at or above `at_least` that is a multiple of `multiple`.
int64_t FreshMillis(int64_t at_least = 0, int64_t multiple = 1) {
  static int64_t high = 1'700'000'000'000;
  int64_t ms = std::max(high + 1, at_least);
  ms = (ms + multiple - 1) / multiple * multiple;
  high = ms;
  return ms;
}

TEST(NewIdTest, HasPrefixDashAndTwentyBase32Characters) {
  const std::string id = NewId("job", absl::FromUnixMillis(FreshMillis()));
  ASSERT_EQ(id.size(), 3u + 1u + 20u) << id;
  EXPECT_EQ(id.substr(0, 4), "job-") << id;
  for (char c : id.substr(4)) {
    EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << "character '" << c << "' of " << id;
  }
  EXPECT_TRUE(IsWellFormedId("job", id)) << id;
  EXPECT_FALSE(IsWellFormedId("plan", id)) << id;
}

TEST(NewIdTest, TimePartEncodesMillisecondsSinceEpoch) {
  // Fresh milliseconds right at and next to base32 digit carries.
  for (int64_t multiple : {int64_t{1}, int64_t{32}, int64_t{1024}, int64_t{1} << 20, int64_t{1} << 25}) {
    const int64_t ms = FreshMillis(0, multiple);
    const std::string at = NewId("plan", absl::FromUnixMillis(ms));
    EXPECT_EQ(TimeOf(at, "plan"), static_cast<uint64_t>(ms)) << at;
    const std::string after = NewId("plan", absl::FromUnixMillis(FreshMillis(ms + 1)));
    EXPECT_EQ(TimeOf(after, "plan"), static_cast<uint64_t>(ms + 1)) << after;
    EXPECT_LT(at, after);
  }
  // Sub-millisecond parts are dropped, not rounded up.
  const int64_t ms = FreshMillis();
  const std::string id = NewId("plan", absl::FromUnixMillis(ms) + absl::Microseconds(999));
  EXPECT_EQ(TimeOf(id, "plan"), static_cast<uint64_t>(ms)) << id;
}

TEST(NewIdTest, EmptyPrefixStillWellFormed) {
  const std::string id = NewId("", absl::FromUnixMillis(FreshMillis()));
  EXPECT_EQ(id.size(), 21u);
  EXPECT_EQ(id[0], '-');
  EXPECT_TRUE(IsWellFormedId("", id));
}

TEST(NewIdTest, LaterTimesSortAfterEarlierOnes) {
  // Consecutive milliseconds and larger jumps, with carries across digits.
  const int64_t base = FreshMillis(FreshMillis() + 35, int64_t{1} << 20) - 35;
  std::vector<int64_t> times;
  for (int64_t d = 0; d < 70; ++d) times.push_back(base + d);
  for (int64_t jump : {int64_t{1023}, int64_t{1} << 15, int64_t{1} << 30, int64_t{1} << 40}) {
    times.push_back(times.back() + jump);
  }
  FreshMillis(times.back());
  std::vector<std::string> ids;
  for (int64_t ms : times) ids.push_back(NewId("job", absl::FromUnixMillis(ms)));
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(ids[i - 1], ids[i]) << "times " << times[i - 1] << " and " << times[i];
    EXPECT_EQ(TimeOf(ids[i], "job"), static_cast<uint64_t>(times[i])) << ids[i];
  }
}

TEST(NewIdTest, SameMillisecondCountsUp) {
  const absl::Time t = absl::FromUnixMillis(FreshMillis());
  const std::string first = NewId("job", t);
  const std::string second = NewId("job", t);
  const std::string third = NewId("job", t);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(TimeOf(second, "job"), TimeOf(first, "job"));
  EXPECT_EQ(RandomOf(second, "job"), RandomOf(first, "job") + 1);
  EXPECT_EQ(RandomOf(third, "job"), RandomOf(first, "job") + 2);
}

TEST(NewIdTest, ClockSteppingBackStillSortsAfter) {
  const int64_t ms = FreshMillis();
  const std::string later = NewId("job", absl::FromUnixMillis(ms));
  for (absl::Time earlier : {absl::FromUnixMillis(ms - 1), absl::FromUnixMillis(ms - 60'000), absl::UnixEpoch(),
                             absl::FromUnixSeconds(-86'400)}) {
    const std::string id = NewId("job", earlier);
    EXPECT_LT(later, id) << earlier;
    EXPECT_TRUE(IsWellFormedId("job", id)) << id;
    EXPECT_EQ(TimeOf(id, "job"), static_cast<uint64_t>(ms)) << id;
  }
}

TEST(NewIdTest, RandomStartsDifferAcrossMilliseconds) {
  std::set<uint64_t> starts;
  for (int i = 0; i < 200; ++i) {
    const std::string id = NewId("job", absl::FromUnixMillis(FreshMillis()));
    starts.insert(RandomOf(id, "job"));
  }
  // 49 random bits: a collision among 200 is (nearly) impossible.
  EXPECT_EQ(starts.size(), 200u);
}

TEST(NewIdTest, TenThousandIdsAreUnique) {
  std::set<std::string> seen;
  const absl::Time t = absl::FromUnixMillis(FreshMillis());
  for (int i = 0; i < 10'000; ++i) {
    // Half in one millisecond, half in fresh ones.
    const std::string id = NewId("job", i % 2 ? t : absl::FromUnixMillis(FreshMillis()));
    ASSERT_TRUE(IsWellFormedId("job", id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate id " << id << " after " << i << " ids";
  }
  EXPECT_EQ(seen.size(), 10'000u);
}

TEST(NewIdTest, IdsFromManyThreadsAreUniqueAndOrderedPerThread) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2'000;
  const absl::Time t = absl::FromUnixMillis(FreshMillis());
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < kPerThread; ++i) made[k].push_back(NewId("job", t + absl::Microseconds(i)));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& ids : made) {
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  FreshMillis(absl::ToUnixMillis(t + absl::Microseconds(kPerThread)));
}

TEST(IsWellFormedIdTest, AcceptsHandWrittenIds) {
  EXPECT_TRUE(IsWellFormedId("job", "job-0000000000abcdefghjk"));
  EXPECT_TRUE(IsWellFormedId("job", "job-zzzzzzzzzzmnpqrstvwx"));
  EXPECT_TRUE(IsWellFormedId("plan", "plan-01hgw2b3c4yz01234567"));
}

TEST(IsWellFormedIdTest, RejectsMalformedIds) {
  const std::string good = "job-0123456789abcdefghjk";
  ASSERT_TRUE(IsWellFormedId("job", good));
  const std::vector<std::string> bad = {
      "",
      "job",
      "job-",
      "job-0123456789abcdefghj",     // 19 characters
      "job-0123456789abcdefghjkm",   // 21 characters
      "job_0123456789abcdefghjk",    // wrong separator
      "jobs0123456789abcdefghjk",    // no separator
      "joc-0123456789abcdefghjk",    // wrong prefix, right length
      "plan-0123456789abcdefghjk",   // another prefix
      "-job0123456789abcdefghjk",
      "job-0123456789ABCDEFGHJK",    // upper case
      "job-0123456789abcdefghji",    // 'i' is not in the alphabet
      "job-0123456789abcdefghjl",    // 'l'
      "job-0123456789abcdefghjo",    // 'o'
      "job-0123456789abcdefghju",    // 'u'
      "job-0123456789abcdefghj-",
      "job-0123456789abcdefghj ",
      std::string("job-0123456789abcdefghj\0", 24),
      "job--123456789abcdefghjk",
  };
  for (const auto& id : bad) EXPECT_FALSE(IsWellFormedId("job", id)) << "'" << id << "'";
}

}  // namespace
}  // namespace nmoe
