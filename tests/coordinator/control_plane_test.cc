// The job life cycle, gangs, leases and recovery, driven by a FakeClock.
#include "coordinator/control_plane.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "storage/memory_store.h"
#include "tests/coordinator/test_specs.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::ProfileSpec;
using ::nmoe::testing::SubmitRequest;
using ::testing::ElementsAre;

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // A new ControlPlane over the same store: what a coordinator restart sees.
  void Reopen() {
    cp_.reset();
    auto cp = ControlPlane::Recover(&store_, &clock_, options_, nullptr);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }

  std::string Submit(const v1::JobSpec& spec, const std::string& key = "") {
    auto r = cp_->SubmitJob(SubmitRequest(spec, key));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->job().id() : "";
  }

  std::string Register(const std::string& host = "h", const std::string& previous = "") {
    v1::RegisterWorkerRequest request;
    request.mutable_capabilities()->set_device(v1::DEVICE_KIND_CPU);
    request.mutable_capabilities()->set_hostname(host);
    request.set_previous_worker_id(previous);
    auto r = cp_->RegisterWorker(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->worker_id() : "";
  }

  v1::Task Lease(const std::string& worker) {
    v1::LeaseTaskRequest request;
    request.set_worker_id(worker);
    auto r = cp_->LeaseTask(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->task() : v1::Task();
  }

  v1::HeartbeatResponse Beat(const std::string& worker, std::vector<std::string> tasks) {
    v1::HeartbeatRequest request;
    request.set_worker_id(worker);
    for (auto& t : tasks) request.add_task_ids(t);
    auto r = cp_->Heartbeat(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::HeartbeatResponse();
  }

  absl::Status Complete(const std::string& worker, const std::string& task) {
    v1::CompleteTaskRequest request;
    request.set_worker_id(worker);
    request.set_task_id(task);
    return cp_->CompleteTask(request);
  }

  v1::JobState State(const std::string& job) { return cp_->GetJob(job)->state(); }

  std::vector<v1::JobState> StateHistory(const std::string& job) {
    v1::ListJobEventsRequest request;
    request.set_job_id(job);
    std::vector<v1::JobState> states;
    auto response = cp_->ListJobEvents(request);
    EXPECT_TRUE(response.ok()) << response.status();
    for (const auto& e : response->events()) {
      if (e.has_state_change()) states.push_back(e.state_change().to());
    }
    return states;
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  ControlPlaneOptions options_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ControlPlaneTest, SubmitCreatesPendingJobWithOneEvent) {
  const std::string id = Submit(ProfileSpec());
  auto job = cp_->GetJob(id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_STATE_PENDING);
  EXPECT_EQ(job->kind(), v1::JOB_KIND_PROFILE);
  EXPECT_EQ(job->attempt(), 1u);
  EXPECT_EQ(job->max_restarts(), 3u);
  EXPECT_EQ(job->last_event_seq(), 1u);
  EXPECT_THAT(StateHistory(id), ElementsAre(v1::JOB_STATE_PENDING));
}

TEST_F(ControlPlaneTest, SameIdempotencyKeyReturnsSameJob) {
  auto first = cp_->SubmitJob(SubmitRequest(ProfileSpec(), "key-1"));
  auto second = cp_->SubmitJob(SubmitRequest(ProfileSpec(), "key-1"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(first->created());
  EXPECT_FALSE(second->created());
  EXPECT_EQ(first->job().id(), second->job().id());
  // A different spec under the same key is a client bug, not a new job.
  auto other = cp_->SubmitJob(SubmitRequest(ProfileSpec(1, "other"), "key-1"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  // The key survives a restart.
  Reopen();
  auto third = cp_->SubmitJob(SubmitRequest(ProfileSpec(), "key-1"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->job().id(), first->job().id());
  EXPECT_FALSE(third->created());
  EXPECT_EQ(cp_->ListJobs({})->jobs_size(), 1);
}

TEST_F(ControlPlaneTest, InvalidSpecIsRejectedNamingTheField) {
  v1::JobSpec spec = ProfileSpec();
  spec.mutable_profile()->set_top_n(20'000'000);
  auto r = cp_->SubmitJob(SubmitRequest(spec));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith("spec.profile.top_n:"));
}

TEST_F(ControlPlaneTest, GangRunsWhenAllRanksLeasedAndSucceedsWhenAllComplete) {
  const std::string id = Submit(ProfileSpec(2));
  const std::string w1 = Register("a"), w2 = Register("b");
  v1::Task t1 = Lease(w1);
  EXPECT_EQ(t1.rank(), 0u);
  EXPECT_EQ(t1.world_size(), 2u);
  EXPECT_EQ(State(id), v1::JOB_STATE_SCHEDULED);
  v1::Task t2 = Lease(w2);
  EXPECT_EQ(t2.rank(), 1u);
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  EXPECT_TRUE(Complete(w1, t1.id()).ok());
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  EXPECT_TRUE(Complete(w2, t2.id()).ok());
  EXPECT_EQ(State(id), v1::JOB_STATE_SUCCEEDED);
  EXPECT_THAT(StateHistory(id), ElementsAre(v1::JOB_STATE_PENDING, v1::JOB_STATE_SCHEDULED, v1::JOB_STATE_RUNNING,
                                            v1::JOB_STATE_SUCCEEDED));
  // Completing twice, or a task one does not hold, is refused.
  EXPECT_EQ(Complete(w1, t1.id()).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ControlPlaneTest, JobsAreLeasedInSubmissionOrderOneTaskPerWorker) {
  const std::string first = Submit(ProfileSpec(1, "first"));
  const std::string second = Submit(ProfileSpec(1, "second"));
  const std::string w = Register();
  EXPECT_EQ(Lease(w).job_id(), first);
  v1::LeaseTaskRequest again;
  again.set_worker_id(w);
  EXPECT_EQ(cp_->LeaseTask(again).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Lease(Register()).job_id(), second);
  EXPECT_FALSE(Lease(Register()).id().empty() == false);
}

TEST_F(ControlPlaneTest, CudaJobsGoOnlyToCudaWorkers) {
  v1::JobSpec spec = ProfileSpec();
  spec.mutable_resources()->set_device(v1::DEVICE_KIND_CUDA);
  const std::string id = Submit(spec);
  EXPECT_FALSE(Lease(Register()).id().empty() == false);
  v1::RegisterWorkerRequest gpu;
  gpu.mutable_capabilities()->set_device(v1::DEVICE_KIND_CUDA);
  auto w = cp_->RegisterWorker(gpu);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Lease(w->worker_id()).job_id(), id);
}

TEST_F(ControlPlaneTest, LeaseExpiryRequeuesTheGangAsANewAttempt) {
  const std::string id = Submit(ProfileSpec(2));
  const std::string w1 = Register("a"), w2 = Register("b");
  v1::Task t1 = Lease(w1), t2 = Lease(w2);
  ASSERT_EQ(State(id), v1::JOB_STATE_RUNNING);
  // w1 keeps beating, w2 goes silent past the TTL.
  clock_.Advance(options_.lease_ttl / 2);
  Beat(w1, {t1.id()});
  cp_->Tick();
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  clock_.Advance(options_.lease_ttl / 2 + absl::Seconds(1));
  Beat(w1, {t1.id()});
  cp_->Tick();
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_RETRYING);
  EXPECT_EQ(job->attempt(), 2u);
  EXPECT_EQ(job->restarts_used(), 1u);
  EXPECT_EQ(job->last_transition().reason(), "WORKER_LOST");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr(w2));
  // The survivor is told to stop its old task, then both ranks are leased anew.
  EXPECT_THAT(Beat(w1, {t1.id()}).revoked_task_ids(), ElementsAre(t1.id()));
  v1::Task again = Lease(w1);
  EXPECT_EQ(again.attempt(), 2u);
  EXPECT_EQ(State(id), v1::JOB_STATE_SCHEDULED);
  const std::string w3 = Register("c");
  EXPECT_EQ(Lease(w3).attempt(), 2u);
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  // The lost worker's stale completion is refused.
  EXPECT_FALSE(Complete(w2, t2.id()).ok());
}

TEST_F(ControlPlaneTest, SpentRestartBudgetFailsTheJobNamingTheWorker) {
  v1::JobSpec spec = ProfileSpec();
  spec.set_max_restarts(1);
  const std::string id = Submit(spec);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const std::string w = Register("host" + std::to_string(attempt));
    ASSERT_EQ(Lease(w).attempt(), static_cast<uint32_t>(attempt));
    clock_.Advance(options_.lease_ttl + absl::Seconds(1));
    cp_->Tick();
  }
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job->last_transition().reason(), "WORKER_LOST");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr("host2"));
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr("restart budget of 1 spent"));
}

TEST_F(ControlPlaneTest, NonRetryableFailureFailsAtOnce) {
  const std::string id = Submit(ProfileSpec());
  const std::string w = Register();
  v1::Task t = Lease(w);
  v1::FailTaskRequest fail;
  fail.set_worker_id(w);
  fail.set_task_id(t.id());
  fail.set_reason("bad reason");  // must be UPPER_SNAKE
  EXPECT_EQ(cp_->FailTask(fail).code(), absl::StatusCode::kInvalidArgument);
  fail.set_reason("MODEL_NOT_FOUND");
  fail.set_message("no config.json in models/base");
  fail.set_retryable(false);
  ASSERT_TRUE(cp_->FailTask(fail).ok());
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job->last_transition().reason(), "MODEL_NOT_FOUND");
  EXPECT_EQ(job->restarts_used(), 0u);
}

TEST_F(ControlPlaneTest, PreemptedTaskQueuesAgainWithoutUsingTheBudget) {
  v1::JobSpec spec = ProfileSpec();
  spec.set_max_restarts(0);  // no budget: a plain retryable failure would fail the job
  const std::string id = Submit(spec);
  const std::string w1 = Register("leaving");
  v1::Task t1 = Lease(w1);
  v1::FailTaskRequest fail;
  fail.set_worker_id(w1);
  fail.set_task_id(t1.id());
  fail.set_reason("WORKER_SHUTDOWN");
  fail.set_message("worker is shutting down (SIGTERM); checkpoint saved");
  fail.set_preempted(true);
  ASSERT_TRUE(cp_->FailTask(fail).ok());
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_RETRYING);
  EXPECT_EQ(job->last_transition().reason(), "WORKER_SHUTDOWN");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr("leaving"));
  EXPECT_EQ(job->restarts_used(), 0u);
  // Another worker takes the next attempt and finishes it.
  const std::string w2 = Register("staying");
  v1::Task t2 = Lease(w2);
  EXPECT_EQ(t2.attempt(), 2u);
  ASSERT_TRUE(Complete(w2, t2.id()).ok());
  EXPECT_EQ(State(id), v1::JOB_STATE_SUCCEEDED);
  // Without `preempted`, the same failure spends the (empty) budget.
  const std::string id2 = Submit(spec);
  v1::Task t3 = Lease(w1);
  ASSERT_EQ(t3.job_id(), id2);
  fail.set_task_id(t3.id());
  fail.set_preempted(false);
  fail.set_retryable(true);
  ASSERT_TRUE(cp_->FailTask(fail).ok());
  EXPECT_EQ(State(id2), v1::JOB_STATE_FAILED);
}

TEST_F(ControlPlaneTest, HeldTaskJobNamesTheJobOnlyForTheLeaseHolder) {
  const std::string id = Submit(ProfileSpec());
  const std::string w = Register("a");
  const std::string other = Register("b");
  v1::Task t = Lease(w);
  auto job = cp_->HeldTaskJob(w, t.id());
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(*job, id);
  EXPECT_EQ(cp_->HeldTaskJob(other, t.id()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cp_->HeldTaskJob("worker-none", t.id()).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(Complete(w, t.id()).ok());
  EXPECT_EQ(cp_->HeldTaskJob(w, t.id()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ControlPlaneTest, CancelPendingJobEndsAtOnce) {
  const std::string id = Submit(ProfileSpec());
  auto job = cp_->CancelJob(id, "not needed");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(job->last_transition().message(), "not needed");
  EXPECT_FALSE(Lease(Register()).id().empty() == false);
  EXPECT_TRUE(cp_->CancelJob(id, "").ok());  // idempotent
}

TEST_F(ControlPlaneTest, CancelRunningJobWaitsForWorkersToStop) {
  const std::string id = Submit(ProfileSpec());
  const std::string w = Register();
  v1::Task t = Lease(w);
  ASSERT_EQ(cp_->CancelJob(id, "")->state(), v1::JOB_STATE_CANCELLING);
  v1::ReportProgressRequest progress;
  progress.set_worker_id(w);
  progress.set_task_id(t.id());
  EXPECT_TRUE(cp_->ReportProgress(progress)->cancel());
  EXPECT_THAT(Beat(w, {t.id()}).revoked_task_ids(), ElementsAre(t.id()));
  EXPECT_EQ(State(id), v1::JOB_STATE_CANCELLING);
  Beat(w, {});  // the worker stopped it
  EXPECT_EQ(State(id), v1::JOB_STATE_CANCELLED);
}

TEST_F(ControlPlaneTest, CancelOfFinishedJobIsAPreconditionFailure) {
  const std::string id = Submit(ProfileSpec());
  const std::string w = Register();
  ASSERT_TRUE(Complete(w, Lease(w).id()).ok());
  EXPECT_EQ(cp_->CancelJob(id, "").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cp_->CancelJob("job-nope", "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ControlPlaneTest, ProgressIsRecordedAsEventsAndOnTheJob) {
  const std::string id = Submit(ProfileSpec());
  const std::string w = Register();
  v1::Task t = Lease(w);
  v1::ReportProgressRequest request;
  request.set_worker_id(w);
  request.set_task_id(t.id());
  request.mutable_progress()->set_stage("profile");
  request.mutable_progress()->set_done(5);
  request.mutable_progress()->set_total(10);
  request.add_logs()->set_text("loaded model");
  ASSERT_TRUE(cp_->ReportProgress(request).ok());
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->progress().done(), 5u);
  v1::ListJobEventsRequest events;
  events.set_job_id(id);
  events.set_from_seq(job->last_event_seq() - 1);
  auto tail = cp_->ListJobEvents(events);
  ASSERT_EQ(tail->events_size(), 2);
  EXPECT_TRUE(tail->events(0).has_progress());
  EXPECT_EQ(tail->events(1).log().text(), "loaded model");
  EXPECT_EQ(tail->events(1).log().worker_id(), w);
}

TEST_F(ControlPlaneTest, AGangsProgressComesFromRankZeroAndLogsFromEveryRank) {
  const std::string id = Submit(ProfileSpec(2));
  const std::string w0 = Register("a"), w1 = Register("b");
  const v1::Task t0 = Lease(w0), t1 = Lease(w1);
  ASSERT_EQ(t1.rank(), 1u);
  const uint64_t before = cp_->GetJob(id)->last_event_seq();
  for (const v1::Task* t : {&t1, &t0}) {
    v1::ReportProgressRequest request;
    request.set_worker_id(t == &t0 ? w0 : w1);
    request.set_task_id(t->id());
    request.mutable_progress()->set_done(t->rank() == 0 ? 7 : 9);
    request.add_logs()->set_text(absl::StrCat("rank ", t->rank()));
    ASSERT_TRUE(cp_->ReportProgress(request).ok());
  }
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->progress().done(), 7u);
  v1::ListJobEventsRequest events;
  events.set_job_id(id);
  events.set_from_seq(before + 1);
  auto tail = cp_->ListJobEvents(events);
  ASSERT_EQ(tail->events_size(), 3);  // rank 1's log; rank 0's progress and log
  EXPECT_EQ(tail->events(0).log().text(), "rank 1");
  EXPECT_EQ(tail->events(1).progress().done(), 7u);
  EXPECT_EQ(tail->events(2).log().text(), "rank 0");
}

TEST_F(ControlPlaneTest, RestartKeepsJobsAndGivesHoldersAGracePeriod) {
  const std::string done = Submit(ProfileSpec(1, "done"));
  const std::string running = Submit(ProfileSpec(1, "running"));
  const std::string pending = Submit(ProfileSpec(1, "pending"));
  const std::string w1 = Register("a"), w2 = Register("b");
  ASSERT_TRUE(Complete(w1, Lease(w1).id()).ok());
  v1::Task t = Lease(w2);
  ASSERT_EQ(t.job_id(), running);

  Reopen();
  EXPECT_EQ(State(done), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(State(running), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(State(pending), v1::JOB_STATE_PENDING);
  // The holder re-registers under its id and finishes its task.
  EXPECT_EQ(Register("b", w2), w2);
  EXPECT_TRUE(Beat(w2, {t.id()}).revoked_task_ids().empty());
  EXPECT_TRUE(Complete(w2, t.id()).ok());
  EXPECT_EQ(State(running), v1::JOB_STATE_SUCCEEDED);
  // The pending job is still leasable.
  EXPECT_EQ(Lease(w1).job_id(), pending);
}

TEST_F(ControlPlaneTest, HolderThatNeverReturnsAfterRestartIsLost) {
  const std::string id = Submit(ProfileSpec());
  Lease(Register());
  Reopen();
  clock_.Advance(options_.lease_ttl + absl::Seconds(1));
  cp_->Tick();
  EXPECT_EQ(State(id), v1::JOB_STATE_RETRYING);
}

TEST_F(ControlPlaneTest, ListJobsFiltersAndPaginatesNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(Submit(ProfileSpec(1, "j" + std::to_string(i))));
    clock_.Advance(absl::Milliseconds(5));
  }
  ASSERT_TRUE(cp_->CancelJob(ids[2], "").ok());
  std::vector<std::string> seen;
  v1::ListJobsRequest request;
  request.set_page_size(3);
  request.add_states(v1::JOB_STATE_PENDING);
  do {
    auto page = cp_->ListJobs(request);
    ASSERT_TRUE(page.ok());
    EXPECT_LE(page->jobs_size(), 3);
    for (const auto& j : page->jobs()) seen.push_back(j.id());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  EXPECT_THAT(seen, ElementsAre(ids[6], ids[5], ids[4], ids[3], ids[1], ids[0]));
  request.set_page_token("garbage");
  EXPECT_EQ(cp_->ListJobs(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ControlPlaneTest, RendezvousScopeIsTheLiveAttempt) {
  const std::string id = Submit(ProfileSpec());
  EXPECT_EQ(cp_->CheckLiveAttempt(id, 1).code(), absl::StatusCode::kFailedPrecondition);
  const std::string w = Register();
  Lease(w);
  EXPECT_TRUE(cp_->CheckLiveAttempt(id, 1).ok());
  ASSERT_TRUE(cp_->rendezvous().Set({id, 1}, "rank0", "addr").ok());
  clock_.Advance(options_.lease_ttl + absl::Seconds(1));
  cp_->Tick();
  // The attempt ended: its keys are gone and it is no longer a valid scope.
  EXPECT_FALSE(cp_->rendezvous().Get({id, 1}, "rank0")->has_value());
  EXPECT_EQ(cp_->CheckLiveAttempt(id, 1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ControlPlaneTest, UnknownWorkerMustRegisterAgain) {
  v1::HeartbeatRequest request;
  request.set_worker_id("worker-unknown");
  EXPECT_EQ(cp_->Heartbeat(request).status().code(), absl::StatusCode::kNotFound);
}

// A gang rank whose collective failed reports PEER_LOST: the attempt waits for
// the lost worker to be identified, so the restart names it, not the survivor.
class PeerLostTest : public ControlPlaneTest {
 protected:
  absl::Status PeerLost(const std::string& worker, const std::string& task) {
    v1::FailTaskRequest fail;
    fail.set_worker_id(worker);
    fail.set_task_id(task);
    fail.set_reason("PEER_LOST");
    fail.set_message("connection closed by peer");
    fail.set_retryable(true);
    return cp_->FailTask(fail);
  }
  std::string LogText(const std::string& job) {
    v1::ListJobEventsRequest request;
    request.set_job_id(job);
    std::string text;
    auto events = cp_->ListJobEvents(request);  // bound: a range-for over a temporary's member dangles
    EXPECT_TRUE(events.ok()) << events.status();
    for (const auto& e : events->events()) {
      if (e.has_log()) text += e.log().text() + "\n";
    }
    return text;
  }
};

TEST_F(PeerLostTest, TheAttemptEndsNamingTheLostWorker) {
  const std::string id = Submit(ProfileSpec(2));
  const std::string w1 = Register("a"), w2 = Register("b");
  v1::Task t1 = Lease(w1), t2 = Lease(w2);
  ASSERT_TRUE(PeerLost(w1, t1.id()).ok());
  // Still running: w2 has not been declared lost yet; w1 is free but gets no slot of this attempt.
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  EXPECT_THAT(LogText(id), ::testing::HasSubstr("its gang lost a peer (worker " + w1));
  EXPECT_FALSE(Lease(w1).has_spec());
  EXPECT_TRUE(Beat(w1, {}).revoked_task_ids().empty());
  clock_.Advance(options_.lease_ttl + absl::Seconds(1));
  Beat(w1, {});
  cp_->Tick();
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_RETRYING);
  EXPECT_EQ(job->last_transition().reason(), "WORKER_LOST");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr(w2));
  EXPECT_EQ(job->restarts_used(), 1u);
  EXPECT_EQ(Lease(w1).attempt(), 2u);
}

TEST_F(PeerLostTest, AnotherRanksOwnFailureEndsItAtOnce) {
  const std::string id = Submit(ProfileSpec(2));
  const std::string w1 = Register("a"), w2 = Register("b");
  v1::Task t1 = Lease(w1), t2 = Lease(w2);
  ASSERT_TRUE(PeerLost(w1, t1.id()).ok());
  v1::FailTaskRequest fail;
  fail.set_worker_id(w2);
  fail.set_task_id(t2.id());
  fail.set_reason("RESOURCE_EXHAUSTED");
  fail.set_message("out of memory");
  fail.set_retryable(true);
  ASSERT_TRUE(cp_->FailTask(fail).ok());
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_RETRYING);
  EXPECT_EQ(job->last_transition().reason(), "RESOURCE_EXHAUSTED");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr(w2));
  // The pending peer loss went with the attempt: nothing ends attempt 2 later.
  clock_.Advance(options_.lease_ttl + absl::Seconds(1));
  Beat(w1, {});
  Beat(w2, {});
  cp_->Tick();
  EXPECT_EQ(cp_->GetJob(id)->attempt(), 2u);
  EXPECT_EQ(cp_->GetJob(id)->restarts_used(), 1u);
}

TEST_F(PeerLostTest, WithNobodyLostItEndsAfterTheLeaseTtl) {
  const std::string id = Submit(ProfileSpec(2));
  const std::string w1 = Register("a"), w2 = Register("b");
  v1::Task t1 = Lease(w1), t2 = Lease(w2);
  ASSERT_TRUE(PeerLost(w1, t1.id()).ok());
  clock_.Advance(options_.lease_ttl / 2);
  Beat(w1, {});
  Beat(w2, {t2.id()});
  cp_->Tick();
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  clock_.Advance(options_.lease_ttl / 2 + absl::Seconds(1));
  Beat(w1, {});
  Beat(w2, {t2.id()});
  cp_->Tick();
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_RETRYING);
  EXPECT_EQ(job->last_transition().reason(), "PEER_LOST");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr(w1));
  EXPECT_THAT(Beat(w2, {t2.id()}).revoked_task_ids(), ElementsAre(t2.id()));
}

TEST_F(PeerLostTest, EveryRankReportingItEndsAtOnce) {
  v1::JobSpec spec = ProfileSpec(2);
  spec.set_max_restarts(0);
  const std::string id = Submit(spec);
  const std::string w1 = Register("a"), w2 = Register("b");
  v1::Task t1 = Lease(w1), t2 = Lease(w2);
  ASSERT_TRUE(PeerLost(w1, t1.id()).ok());
  ASSERT_TRUE(PeerLost(w2, t2.id()).ok());
  auto job = cp_->GetJob(id);
  EXPECT_EQ(job->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job->last_transition().reason(), "PEER_LOST");
  EXPECT_THAT(job->last_transition().message(), ::testing::HasSubstr("every rank of the gang reported a lost peer"));
}

}  // namespace
}  // namespace nmoe::coordinator
