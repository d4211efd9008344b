// An acknowledgement implies durability, also when the call changes nothing
// because an earlier call (whose log sync failed or has not finished) already
// put the change in memory: an idempotent retry of a submission and a second
// cancel are answered only after a sync of the log.
#include <atomic>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/control_plane.h"
#include "storage/memory_store.h"
#include "tests/coordinator/test_specs.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::ProfileSpec;
using ::nmoe::testing::SubmitRequest;

// A MemoryStore whose log sync fails while `fail_sync` is set (a full or
// failing disk): writes land, but nothing is durable.
class FlakySyncStore final : public storage::KvStore {
 public:
  absl::Status Write(const storage::WriteBatch& batch, bool sync) override {
    if (sync && fail_sync) return absl::UnavailableError("sync failed");
    return store_.Write(batch, sync);
  }
  absl::StatusOr<std::optional<std::string>> Get(storage::Table table, std::string_view key) override {
    return store_.Get(table, key);
  }
  absl::Status Scan(storage::Table table, const storage::ScanOptions& options,
                    const storage::ScanVisitor& visit) override {
    return store_.Scan(table, options, visit);
  }
  absl::Status Sync() override {
    ++syncs;
    return fail_sync ? absl::UnavailableError("sync failed") : absl::OkStatus();
  }

  std::atomic<bool> fail_sync{false};
  std::atomic<int> syncs{0};

 private:
  storage::MemoryStore store_;
};

class ControlPlaneSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cp = ControlPlane::Recover(&store_, &clock_, ControlPlaneOptions(), nullptr);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }

  FlakySyncStore store_;
  FakeClock clock_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ControlPlaneSyncTest, AnIdempotentRetryIsAcknowledgedOnlyWhenTheJobIsDurable) {
  const auto request = SubmitRequest(ProfileSpec(1, "a"), "key-a");
  store_.fail_sync = true;
  EXPECT_EQ(cp_->SubmitJob(request).status().code(), absl::StatusCode::kUnavailable);
  // The job is in memory now, its log not synced: the retry must not confirm it.
  EXPECT_EQ(cp_->SubmitJob(request).status().code(), absl::StatusCode::kUnavailable);
  store_.fail_sync = false;
  const int syncs = store_.syncs;
  auto retry = cp_->SubmitJob(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created());
  EXPECT_GT(store_.syncs, syncs);
}

TEST_F(ControlPlaneSyncTest, ASecondCancelIsAcknowledgedOnlyWhenTheCancelIsDurable) {
  auto submitted = cp_->SubmitJob(SubmitRequest(ProfileSpec(1, "b")));
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const std::string id = submitted->job().id();
  store_.fail_sync = true;
  EXPECT_EQ(cp_->CancelJob(id, "").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cp_->CancelJob(id, "").status().code(), absl::StatusCode::kUnavailable);
  store_.fail_sync = false;
  auto again = cp_->CancelJob(id, "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::JOB_STATE_CANCELLED);
}

}  // namespace
}  // namespace nmoe::coordinator
