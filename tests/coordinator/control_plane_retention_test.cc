// Retention of ended jobs (coordinator/control_plane_retention.cc): by age, by
// count, pipelines with their stage jobs, across restarts; live jobs never go.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "coordinator/control_plane.h"
#include "storage/memory_store.h"
#include "tests/coordinator/test_specs.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::PipelineSpec;
using ::nmoe::testing::ProfileSpec;
using ::nmoe::testing::SubmitRequest;

class RetentionTest : public ::testing::Test {
 protected:
  // A ControlPlane over the same store (a restart) with these bounds.
  void Open(absl::Duration ttl, size_t max_ended) {
    options_.finished_job_ttl = ttl;
    options_.max_finished_jobs = max_ended;
    cp_.reset();
    auto cp = ControlPlane::Recover(&store_, &clock_, options_, nullptr);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }

  std::string Submit(const std::string& name, const std::string& key = "") {
    auto r = cp_->SubmitJob(SubmitRequest(ProfileSpec(1, name), key));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->job().id() : "";
  }

  // A job that ended at once (cancelled while pending) at the clock's time.
  std::string SubmitEnded(const std::string& name) {
    const std::string id = Submit(name);
    auto cancelled = cp_->CancelJob(id, "done with it");
    EXPECT_TRUE(cancelled.ok() && cancelled->state() == v1::JOB_STATE_CANCELLED);
    return id;
  }

  // Held by the control plane (and so by the store, which must agree).
  bool Held(const std::string& id) {
    const bool in_memory = cp_->GetJob(id).ok();
    auto stored = cp_->job_store().GetJob(id);
    EXPECT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(in_memory, stored.ok() && stored->has_value()) << id;
    return in_memory;
  }

  size_t StoredEvents(const std::string& id) {
    auto events = cp_->job_store().ListEvents(id, 1, 0);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? events->size() : 0;
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  ControlPlaneOptions options_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(RetentionTest, EndedJobsGoOnceOlderThanTheTtlAndLiveOnesStay) {
  Open(absl::Hours(24), 0);
  const std::string old_ended = SubmitEnded("old");
  const std::string live = Submit("live");  // pending for days: never deleted
  clock_.Advance(absl::Hours(12));
  const std::string young_ended = SubmitEnded("young");
  ASSERT_GE(StoredEvents(old_ended), 2u);

  clock_.Advance(absl::Hours(12));  // old one ended exactly 24 h ago: not past the ttl yet
  cp_->Tick();
  EXPECT_TRUE(Held(old_ended));
  clock_.Advance(absl::Seconds(1));
  cp_->Tick();
  EXPECT_FALSE(Held(old_ended));
  EXPECT_EQ(StoredEvents(old_ended), 0u);
  EXPECT_TRUE(absl::IsNotFound(cp_->GetJob(old_ended).status()));
  v1::ListJobEventsRequest events;
  events.set_job_id(old_ended);
  EXPECT_TRUE(absl::IsNotFound(cp_->ListJobEvents(events).status()));
  EXPECT_TRUE(Held(young_ended));
  EXPECT_TRUE(Held(live));
  EXPECT_EQ(cp_->RetainedEndedJobs(), 1u);

  clock_.Advance(absl::Hours(24));
  cp_->Tick();
  EXPECT_FALSE(Held(young_ended));
  EXPECT_TRUE(Held(live));
  EXPECT_EQ(cp_->GetJob(live)->state(), v1::JOB_STATE_PENDING);
  auto list = cp_->ListJobs(v1::ListJobsRequest());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->jobs_size(), 1);
  EXPECT_EQ(list->jobs(0).id(), live);
}

TEST_F(RetentionTest, OverTheCountTheEarliestEndedGoFirst) {
  Open(absl::ZeroDuration(), 2);
  // Submitted in one order, ended in another: ending time decides.
  const std::string a = Submit("a"), b = Submit("b"), c = Submit("c");
  for (const std::string& id : {b, c, a}) {
    clock_.Advance(absl::Minutes(1));
    ASSERT_TRUE(cp_->CancelJob(id, "").ok());
  }
  cp_->Tick();
  EXPECT_FALSE(Held(b));
  EXPECT_TRUE(Held(c));
  EXPECT_TRUE(Held(a));
  clock_.Advance(absl::Hours(24 * 365));  // no ttl: age alone deletes nothing
  cp_->Tick();
  EXPECT_TRUE(Held(c));
  EXPECT_TRUE(Held(a));
  const std::string d = SubmitEnded("d");
  cp_->Tick();
  EXPECT_FALSE(Held(c));
  EXPECT_TRUE(Held(a));
  EXPECT_TRUE(Held(d));
}

TEST_F(RetentionTest, TheCountBoundWaitsForTheMinimumAge) {
  options_.finished_job_min_age = absl::Minutes(10);
  Open(absl::ZeroDuration(), 1);
  const std::string a = SubmitEnded("a");
  clock_.Advance(absl::Minutes(5));
  const std::string b = SubmitEnded("b");
  const std::string c = SubmitEnded("c");
  cp_->Tick();  // 3 > 1, but none ended 10 minutes ago
  EXPECT_TRUE(Held(a) && Held(b) && Held(c));
  clock_.Advance(absl::Minutes(5));
  cp_->Tick();  // a is 10 minutes old now; b and c are not
  EXPECT_FALSE(Held(a));
  EXPECT_TRUE(Held(b) && Held(c));
  clock_.Advance(absl::Minutes(5));
  cp_->Tick();
  EXPECT_FALSE(Held(b));  // ended first (same time as c, earlier id)
  EXPECT_TRUE(Held(c));
}

TEST_F(RetentionTest, ManyEndedJobsAreDeletedInBoundedBatchesPerTick) {
  Open(absl::ZeroDuration(), 10);
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) ids.push_back(SubmitEnded(absl::StrCat("j", i)));
  cp_->Tick();  // at most 256 per tick
  EXPECT_EQ(cp_->RetainedEndedJobs(), 600u - 256u);
  EXPECT_FALSE(Held(ids[255]));
  EXPECT_TRUE(Held(ids[256]));
  cp_->Tick();
  cp_->Tick();
  EXPECT_EQ(cp_->RetainedEndedJobs(), 10u);
  for (int i = 0; i < 600; ++i) EXPECT_EQ(Held(ids[i]), i >= 590) << i;
}

TEST_F(RetentionTest, AnIdempotencyKeyOfADeletedJobMakesANewJob) {
  Open(absl::Hours(1), 0);
  const std::string first = Submit("keyed", "run-7");
  ASSERT_TRUE(cp_->CancelJob(first, "").ok());
  // While the job is held, the key answers with it.
  auto again = cp_->SubmitJob(SubmitRequest(ProfileSpec(1, "keyed"), "run-7"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->job().id(), first);
  EXPECT_FALSE(again->created());
  clock_.Advance(absl::Hours(2));
  cp_->Tick();
  ASSERT_FALSE(Held(first));
  auto fresh = cp_->SubmitJob(SubmitRequest(ProfileSpec(1, "keyed"), "run-7"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->created());
  EXPECT_NE(fresh->job().id(), first);
  // The new job survives a restart under its key.
  Open(absl::Hours(1), 0);
  auto after = cp_->SubmitJob(SubmitRequest(ProfileSpec(1, "keyed"), "run-7"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->job().id(), fresh->job().id());
}

TEST_F(RetentionTest, APipelineGoesWithItsEndedStagesAndCountsOnce) {
  Open(absl::ZeroDuration(), 1);
  auto pipeline = cp_->SubmitJob(SubmitRequest(PipelineSpec()));
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  const std::string pid = pipeline->job().id();
  auto stage = [&](const std::string& name) {
    auto child = cp_->SubmitChildJob(SubmitRequest(ProfileSpec(1, name)), pid);
    EXPECT_TRUE(child.ok()) << child.status();
    return child.ok() ? child->job().id() : "";
  };
  const std::string done_stage = stage("done"), running_stage = stage("running");
  ControlPlane::PipelineUpdate update;
  for (const std::string& id : {done_stage, running_stage}) update.stages.emplace_back().set_job_id(id);
  update.to = v1::JOB_STATE_RUNNING;
  ASSERT_TRUE(cp_->UpdatePipeline(pid, update).ok());
  ASSERT_TRUE(cp_->CancelJob(done_stage, "").ok());  // a stage that ended: not counted on its own
  update.to = v1::JOB_STATE_FAILED;
  update.reason = "STAGE_FAILED";
  ASSERT_TRUE(cp_->UpdatePipeline(pid, update).ok());
  EXPECT_EQ(cp_->RetainedEndedJobs(), 1u);  // the pipeline alone

  const std::string later = SubmitEnded("later");  // now 2 > 1: the pipeline goes
  cp_->Tick();
  EXPECT_FALSE(Held(pid));
  EXPECT_FALSE(Held(done_stage));
  EXPECT_TRUE(Held(running_stage));  // live: stays, and is tracked once it ends
  EXPECT_TRUE(Held(later));
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(cp_->CancelJob(running_stage, "").ok());
  EXPECT_EQ(cp_->RetainedEndedJobs(), 2u);
  cp_->Tick();
  EXPECT_FALSE(Held(later));
  EXPECT_TRUE(Held(running_stage));
}

TEST_F(RetentionTest, ARestartTracksStoredEndedJobsAndKeepsDeletionsDone) {
  Open(absl::ZeroDuration(), 0);  // no bounds: nothing is deleted
  const std::string a = SubmitEnded("a");
  clock_.Advance(absl::Minutes(1));
  const std::string b = SubmitEnded("b");
  const std::string live = Submit("live");
  cp_->Tick();
  EXPECT_TRUE(Held(a));
  Open(absl::ZeroDuration(), 1);  // restarted with a bound: recovered ended jobs count
  EXPECT_EQ(cp_->RetainedEndedJobs(), 2u);
  cp_->Tick();
  EXPECT_FALSE(Held(a));
  Open(absl::ZeroDuration(), 0);
  EXPECT_FALSE(Held(a));
  EXPECT_TRUE(Held(b));
  EXPECT_TRUE(Held(live));
  EXPECT_EQ(cp_->RetainedEndedJobs(), 1u);
}

}  // namespace
}  // namespace nmoe::coordinator
