#include "coordinator/rendezvous.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const KvScopeKey kScope{"job-a", 1};

// Records what a Wait callback received, and how often it ran.
struct WaitResult {
  int calls = 0;
  std::optional<absl::StatusOr<std::vector<std::string>>> result;

  Rendezvous::WaitCallback Callback() {
    return [this](absl::StatusOr<std::vector<std::string>> r) {
      ++calls;
      result = std::move(r);
    };
  }
  bool done() const { return calls > 0; }
  absl::StatusCode code() const { return result ? result->status().code() : absl::StatusCode::kUnknown; }
};

TEST(RendezvousTest, SetThenGet) {
  Rendezvous rv;
  ASSERT_TRUE(rv.Set(kScope, "addr/0", "10.0.0.1:29500").ok());
  auto value = rv.Get(kScope, "addr/0");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::optional<std::string>("10.0.0.1:29500"));
  ASSERT_TRUE(rv.Set(kScope, "addr/0", "10.0.0.2:29500").ok());
  EXPECT_EQ(*rv.Get(kScope, "addr/0"), std::optional<std::string>("10.0.0.2:29500"));
}

TEST(RendezvousTest, GetOfAbsentKeyOrScopeIsNullopt) {
  Rendezvous rv;
  auto none = rv.Get(kScope, "missing");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, std::nullopt);
  ASSERT_TRUE(rv.Set(kScope, "present", "v").ok());
  EXPECT_EQ(*rv.Get(kScope, "missing"), std::nullopt);
}

TEST(RendezvousTest, ValuesMayBeBinaryAndEmpty) {
  Rendezvous rv;
  const std::string nccl_id("\x00\x01\xff\x00", 4);
  ASSERT_TRUE(rv.Set(kScope, "nccl", nccl_id).ok());
  ASSERT_TRUE(rv.Set(kScope, "empty", "").ok());
  EXPECT_EQ(*rv.Get(kScope, "nccl"), std::optional<std::string>(nccl_id));
  EXPECT_EQ(*rv.Get(kScope, "empty"), std::optional<std::string>(""));
}

TEST(RendezvousTest, KeyAndValueSizesAreChecked) {
  Rendezvous rv;
  EXPECT_EQ(rv.Set(kScope, "", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rv.Get(kScope, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rv.Add(kScope, "", 1).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string longest(Rendezvous::kMaxKeyBytes, 'k');
  EXPECT_TRUE(rv.Set(kScope, longest, "v").ok());
  EXPECT_EQ(rv.Set(kScope, longest + "k", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(rv.Set(kScope, "big", std::string(Rendezvous::kMaxValueBytes, 'x')).ok());
  const absl::Status too_big = rv.Set(kScope, "bigger", std::string(Rendezvous::kMaxValueBytes + 1, 'x'));
  EXPECT_EQ(too_big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.message(), HasSubstr("value"));
  EXPECT_EQ(*rv.Get(kScope, "bigger"), std::nullopt);
}

TEST(RendezvousTest, AddStartsFromZeroAndAccumulates) {
  Rendezvous rv;
  auto sum = rv.Add(kScope, "counter", 5);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, 5);
  EXPECT_EQ(*rv.Add(kScope, "counter", -7), -2);
  EXPECT_EQ(*rv.Add(kScope, "counter", 0), -2);
  // The value is stored as a decimal string that Get sees.
  EXPECT_EQ(*rv.Get(kScope, "counter"), std::optional<std::string>("-2"));
  EXPECT_EQ(*rv.Add(kScope, "zero", 0), 0);
  EXPECT_EQ(*rv.Get(kScope, "zero"), std::optional<std::string>("0"));
}

TEST(RendezvousTest, AddWorksOnADecimalSetBefore) {
  Rendezvous rv;
  ASSERT_TRUE(rv.Set(kScope, "n", "41").ok());
  EXPECT_EQ(*rv.Add(kScope, "n", 1), 42);
  ASSERT_TRUE(rv.Set(kScope, "neg", "-9000000000").ok());
  EXPECT_EQ(*rv.Add(kScope, "neg", 1), -8'999'999'999);
}

TEST(RendezvousTest, AddOnANonIntegerIsInvalidArgumentAndLeavesTheValue) {
  Rendezvous rv;
  for (const std::string& bad : {std::string("abc"), std::string(""), std::string("1.5"), std::string("12x"),
                                 std::string("99999999999999999999"), std::string("\x01", 1)}) {
    ASSERT_TRUE(rv.Set(kScope, "k", bad).ok());
    auto sum = rv.Add(kScope, "k", 1);
    ASSERT_FALSE(sum.ok()) << "'" << bad << "'";
    EXPECT_EQ(sum.status().code(), absl::StatusCode::kInvalidArgument) << "'" << bad << "'";
    EXPECT_THAT(sum.status().message(), HasSubstr("'k'"));
    EXPECT_EQ(*rv.Get(kScope, "k"), std::optional<std::string>(bad));
  }
}

TEST(RendezvousTest, AddOverflowIsInvalidArgumentAndLeavesTheValue) {
  Rendezvous rv;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  ASSERT_EQ(*rv.Add(kScope, "hi", kMax), kMax);
  auto over = rv.Add(kScope, "hi", 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.status().message(), HasSubstr("overflow"));
  EXPECT_EQ(*rv.Get(kScope, "hi"), std::optional<std::string>(std::to_string(kMax)));
  EXPECT_EQ(*rv.Add(kScope, "hi", -1), kMax - 1);

  ASSERT_EQ(*rv.Add(kScope, "lo", kMin), kMin);
  EXPECT_EQ(rv.Add(kScope, "lo", -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*rv.Add(kScope, "lo", kMax), -1);
}

TEST(RendezvousTest, ScopesAreIsolatedByJobAndAttempt) {
  Rendezvous rv;
  const KvScopeKey attempt1{"job-a", 1}, attempt2{"job-a", 2}, other_job{"job-b", 1};
  ASSERT_TRUE(rv.Set(attempt1, "rank0", "old").ok());
  EXPECT_EQ(*rv.Get(attempt2, "rank0"), std::nullopt);
  EXPECT_EQ(*rv.Get(other_job, "rank0"), std::nullopt);
  ASSERT_TRUE(rv.Set(attempt2, "rank0", "new").ok());
  EXPECT_EQ(*rv.Get(attempt1, "rank0"), std::optional<std::string>("old"));
  EXPECT_EQ(*rv.Get(attempt2, "rank0"), std::optional<std::string>("new"));
  EXPECT_EQ(*rv.Add(attempt1, "count", 3), 3);
  EXPECT_EQ(*rv.Add(attempt2, "count", 1), 1);
  EXPECT_EQ(*rv.Add(other_job, "count", 10), 10);

  // A waiter in attempt 2 ignores keys set in attempt 1.
  WaitResult w;
  rv.Wait(attempt2, {"only-in-1"}, kNow + absl::Seconds(10), w.Callback());
  ASSERT_TRUE(rv.Set(attempt1, "only-in-1", "x").ok());
  EXPECT_FALSE(w.done());
  ASSERT_TRUE(rv.Set(attempt2, "only-in-1", "y").ok());
  ASSERT_TRUE(w.done());
  ASSERT_TRUE(w.result->ok());
  EXPECT_THAT(**w.result, ElementsAre("y"));
}

TEST(RendezvousTest, WaitCompletesAtOnceWhenKeysExist) {
  Rendezvous rv;
  ASSERT_TRUE(rv.Set(kScope, "a", "1").ok());
  ASSERT_TRUE(rv.Set(kScope, "b", "2").ok());
  WaitResult w;
  rv.Wait(kScope, {"b", "a", "b"}, kNow + absl::Seconds(1), w.Callback());
  ASSERT_EQ(w.calls, 1);
  ASSERT_TRUE(w.result->ok()) << w.result->status();
  EXPECT_THAT(**w.result, ElementsAre("2", "1", "2"));  // values in the order asked
  EXPECT_EQ(rv.waiter_count(), 0u);
}

TEST(RendezvousTest, WaitCompletesWhenTheLastMissingKeyIsSet) {
  Rendezvous rv;
  ASSERT_TRUE(rv.Set(kScope, "rank0", "addr0").ok());
  WaitResult w;
  rv.Wait(kScope, {"rank0", "rank1", "rank2"}, kNow + absl::Seconds(30), w.Callback());
  EXPECT_FALSE(w.done());
  EXPECT_EQ(rv.waiter_count(), 1u);
  ASSERT_TRUE(rv.Set(kScope, "rank2", "addr2").ok());
  EXPECT_FALSE(w.done());
  ASSERT_TRUE(rv.Set(kScope, "unrelated", "x").ok());
  EXPECT_FALSE(w.done());
  ASSERT_TRUE(rv.Set(kScope, "rank1", "addr1").ok());
  ASSERT_EQ(w.calls, 1);
  ASSERT_TRUE(w.result->ok()) << w.result->status();
  EXPECT_THAT(**w.result, ElementsAre("addr0", "addr1", "addr2"));
  EXPECT_EQ(rv.waiter_count(), 0u);
  // Completed waiters are not called again.
  ASSERT_TRUE(rv.Set(kScope, "rank1", "changed").ok());
  rv.Expire(kNow + absl::Hours(1));
  EXPECT_EQ(w.calls, 1);
}

TEST(RendezvousTest, AddCanCompleteAWaiter) {
  Rendezvous rv;
  WaitResult w;
  rv.Wait(kScope, {"barrier"}, kNow + absl::Seconds(5), w.Callback());
  EXPECT_FALSE(w.done());
  ASSERT_TRUE(rv.Add(kScope, "barrier", 2).ok());
  ASSERT_TRUE(w.done());
  ASSERT_TRUE(w.result->ok());
  EXPECT_THAT(**w.result, ElementsAre("2"));
}

TEST(RendezvousTest, SeveralWaitersCompleteTogether) {
  Rendezvous rv;
  WaitResult a, b, c;
  rv.Wait(kScope, {"k"}, kNow + absl::Seconds(5), a.Callback());
  rv.Wait(kScope, {"k"}, kNow + absl::Seconds(5), b.Callback());
  rv.Wait(kScope, {"k", "other"}, kNow + absl::Seconds(5), c.Callback());
  EXPECT_EQ(rv.waiter_count(), 3u);
  ASSERT_TRUE(rv.Set(kScope, "k", "v").ok());
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(c.calls, 0);
  EXPECT_EQ(rv.waiter_count(), 1u);
}

TEST(RendezvousTest, WaitWithABadKeyFailsAtOnce) {
  Rendezvous rv;
  WaitResult w;
  rv.Wait(kScope, {"ok", ""}, kNow + absl::Seconds(5), w.Callback());
  ASSERT_EQ(w.calls, 1);
  EXPECT_EQ(w.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rv.waiter_count(), 0u);
}

TEST(RendezvousTest, ExpireFailsOnlyWaitersPastTheirDeadline) {
  Rendezvous rv;
  WaitResult early, late;
  rv.Wait(kScope, {"never"}, kNow + absl::Seconds(10), early.Callback());
  rv.Wait(kScope, {"never"}, kNow + absl::Seconds(60), late.Callback());
  rv.Expire(kNow + absl::Seconds(9));
  EXPECT_FALSE(early.done());
  EXPECT_FALSE(late.done());
  rv.Expire(kNow + absl::Seconds(10));  // the deadline itself has passed
  ASSERT_EQ(early.calls, 1);
  EXPECT_EQ(early.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(early.result->status().message(), HasSubstr("job-a"));
  EXPECT_FALSE(late.done());
  EXPECT_EQ(rv.waiter_count(), 1u);
  // A key set afterwards does not call the expired waiter again.
  ASSERT_TRUE(rv.Set(kScope, "never", "now").ok());
  EXPECT_EQ(early.calls, 1);
  ASSERT_EQ(late.calls, 1);
  EXPECT_TRUE(late.result->ok());
}

TEST(RendezvousTest, DropJobAbortsWaitersAndDropsKeysOfStaleAttempts) {
  Rendezvous rv;
  const KvScopeKey a1{"job-a", 1}, a2{"job-a", 2}, a3{"job-a", 3}, b1{"job-b", 1};
  for (const auto& scope : {a1, a2, a3, b1}) ASSERT_TRUE(rv.Set(scope, "present", "v").ok());
  WaitResult w1, w2, w3, wb;
  rv.Wait(a1, {"missing"}, kNow + absl::Seconds(5), w1.Callback());
  rv.Wait(a2, {"missing"}, kNow + absl::Seconds(5), w2.Callback());
  rv.Wait(a3, {"missing"}, kNow + absl::Seconds(5), w3.Callback());
  rv.Wait(b1, {"missing"}, kNow + absl::Seconds(5), wb.Callback());

  rv.DropJob("job-a", 3);  // attempt 3 is live: drop 1 and 2
  ASSERT_EQ(w1.calls, 1);
  ASSERT_EQ(w2.calls, 1);
  EXPECT_EQ(w1.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(w2.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(w1.result->status().message(), HasSubstr("job-a"));
  EXPECT_FALSE(w3.done());
  EXPECT_FALSE(wb.done());
  EXPECT_EQ(*rv.Get(a1, "present"), std::nullopt);
  EXPECT_EQ(*rv.Get(a2, "present"), std::nullopt);
  EXPECT_EQ(*rv.Get(a3, "present"), std::optional<std::string>("v"));
  EXPECT_EQ(*rv.Get(b1, "present"), std::optional<std::string>("v"));
  EXPECT_EQ(rv.waiter_count(), 2u);

  rv.DropJob("job-a", 0);  // the job ended: everything of it goes
  ASSERT_EQ(w3.calls, 1);
  EXPECT_EQ(w3.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*rv.Get(a3, "present"), std::nullopt);
  EXPECT_FALSE(wb.done());
  EXPECT_EQ(*rv.Get(b1, "present"), std::optional<std::string>("v"));
  EXPECT_EQ(rv.waiter_count(), 1u);

  // Dropped waiters are not called again; the scope starts afresh.
  ASSERT_TRUE(rv.Set(a1, "missing", "late").ok());
  EXPECT_EQ(w1.calls, 1);
  EXPECT_EQ(*rv.Add(a1, "present", 1), 1);
}

TEST(RendezvousTest, DropJobMatchesTheJobIdExactly) {
  Rendezvous rv;
  const KvScopeKey longer{"job-a2", 1};
  ASSERT_TRUE(rv.Set(longer, "k", "v").ok());
  WaitResult w;
  rv.Wait(longer, {"missing"}, kNow + absl::Seconds(5), w.Callback());
  rv.DropJob("job-a", 0);
  EXPECT_FALSE(w.done());
  EXPECT_EQ(*rv.Get(longer, "k"), std::optional<std::string>("v"));
}

TEST(RendezvousTest, CallbacksRunWithoutTheLockHeld) {
  // A callback may call back into the rendezvous (a real waiter re-arms or reads).
  Rendezvous rv;
  std::optional<std::string> read_back;
  bool rearmed_done = false;
  rv.Wait(kScope, {"k"}, kNow + absl::Seconds(5), [&](absl::StatusOr<std::vector<std::string>> r) {
    ASSERT_TRUE(r.ok());
    read_back = *rv.Get(kScope, "k");
    ASSERT_TRUE(rv.Set(kScope, "from-callback", "1").ok());
    rv.Wait(kScope, {"from-callback"}, kNow + absl::Seconds(5),
            [&](absl::StatusOr<std::vector<std::string>> r2) { rearmed_done = r2.ok(); });
  });
  ASSERT_TRUE(rv.Set(kScope, "k", "v").ok());
  EXPECT_EQ(read_back, std::optional<std::string>("v"));
  EXPECT_TRUE(rearmed_done);

  WaitResult expired;
  rv.Wait(kScope, {"never"}, kNow, [&](absl::StatusOr<std::vector<std::string>> r) {
    rv.Expire(kNow);  // re-entrant call from an expiry callback
    expired.calls++;
    expired.result = std::move(r);
  });
  rv.Expire(kNow);
  EXPECT_EQ(expired.calls, 1);
  EXPECT_EQ(expired.code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace nmoe::coordinator
