#include "storage/job_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/keys.h"
#include "tests/storage/test_stores.h"

namespace nmoe::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Backends;
using testing::BackendName;

v1::Job MakeJob(const std::string& id, v1::JobState state = v1::JOB_STATE_PENDING, const std::string& key = "") {
  v1::Job job;
  job.set_id(id);
  job.set_state(state);
  job.set_kind(v1::JOB_KIND_PROFILE);
  job.set_idempotency_key(key);
  job.mutable_spec()->set_name(absl::StrCat("name of ", id));
  job.mutable_create_time()->set_seconds(1'700'000'000);
  return job;
}

v1::JobEvent MakeEvent(const std::string& job_id, uint64_t seq) {
  v1::JobEvent event;
  event.set_job_id(job_id);
  event.set_seq(seq);
  event.mutable_log()->set_text(absl::StrCat("event ", seq));
  return event;
}

std::vector<uint64_t> Seqs(const std::vector<v1::JobEvent>& events) {
  std::vector<uint64_t> seqs;
  for (const auto& e : events) seqs.push_back(e.seq());
  return seqs;
}

template <typename Backend>
class JobStoreTest : public testing::StoreTest<Backend> {
 protected:
  void SetUp() override {
    testing::StoreTest<Backend>::SetUp();
    jobs_ = std::make_unique<JobStore>(&this->kv());
  }
  std::vector<uint64_t> ListSeqs(const std::string& job_id, uint64_t from, size_t limit) {
    auto events = jobs_->ListEvents(job_id, from, limit);
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return {};
    for (const auto& e : *events) EXPECT_EQ(e.job_id(), job_id);
    return Seqs(*events);
  }
  std::unique_ptr<JobStore> jobs_;
};
TYPED_TEST_SUITE(JobStoreTest, Backends, BackendName);

TYPED_TEST(JobStoreTest, GetOfUnknownJobIsEmpty) {
  auto job = this->jobs_->GetJob("job-missing");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_FALSE(job->has_value());
}

TYPED_TEST(JobStoreTest, CreateJobStoresJobEventsAndIdempotencyKey) {
  const v1::Job job = MakeJob("job-a", v1::JOB_STATE_PENDING, "retry-key-1");
  ASSERT_TRUE(this->jobs_->CreateJob(job, {MakeEvent("job-a", 1), MakeEvent("job-a", 2)}).ok());

  auto got = this->jobs_->GetJob("job-a");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->SerializeAsString(), job.SerializeAsString());
  EXPECT_EQ((*got)->spec().name(), "name of job-a");

  auto found = this->jobs_->FindJobByIdempotencyKey("retry-key-1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, std::optional<std::string>("job-a"));
  auto other = this->jobs_->FindJobByIdempotencyKey("retry-key-2");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(*other, std::nullopt);

  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), ElementsAre(1u, 2u));
}

TYPED_TEST(JobStoreTest, CreateJobWithoutKeyRecordsNoKey) {
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a"), {}).ok());
  auto found = this->jobs_->FindJobByIdempotencyKey("");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, std::nullopt);
  // No events were written either.
  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), IsEmpty());
}

TYPED_TEST(JobStoreTest, IdempotencyKeysAreKeptApartFromEachOther) {
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a", v1::JOB_STATE_PENDING, "k1"), {}).ok());
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-b", v1::JOB_STATE_PENDING, "k2"), {}).ok());
  EXPECT_EQ(*this->jobs_->FindJobByIdempotencyKey("k1"), std::optional<std::string>("job-a"));
  EXPECT_EQ(*this->jobs_->FindJobByIdempotencyKey("k2"), std::optional<std::string>("job-b"));
}

TYPED_TEST(JobStoreTest, UpdateJobOverwritesAndAppendsEvents) {
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a", v1::JOB_STATE_PENDING, "key"), {MakeEvent("job-a", 1)}).ok());
  v1::Job running = MakeJob("job-a", v1::JOB_STATE_RUNNING, "key");
  running.set_attempt(2);
  running.set_last_event_seq(3);
  ASSERT_TRUE(this->jobs_->UpdateJob(running, {MakeEvent("job-a", 2), MakeEvent("job-a", 3)}, /*sync=*/false).ok());
  auto got = this->jobs_->GetJob("job-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ((*got)->attempt(), 2u);
  EXPECT_EQ((*got)->last_event_seq(), 3u);
  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), ElementsAre(1u, 2u, 3u));

  ASSERT_TRUE(this->jobs_->UpdateJob(MakeJob("job-a", v1::JOB_STATE_SUCCEEDED), {}, /*sync=*/true).ok());
  got = this->jobs_->GetJob("job-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ((*got)->attempt(), 0u);  // overwritten, not merged
  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), ElementsAre(1u, 2u, 3u));
}

TYPED_TEST(JobStoreTest, DeleteJobsRemovesRecordsEventLogsAndKeysOfThoseJobsOnly) {
  std::vector<v1::JobEvent> events_a, events_a1;
  for (uint64_t seq = 1; seq <= 300; ++seq) events_a.push_back(MakeEvent("job-a", seq));
  for (uint64_t seq = 1; seq <= 2; ++seq) events_a1.push_back(MakeEvent("job-a1", seq));
  const v1::Job a = MakeJob("job-a", v1::JOB_STATE_SUCCEEDED, "key-a");
  ASSERT_TRUE(this->jobs_->CreateJob(a, events_a).ok());
  // "job-a1" shares job-a's prefix as a string, not as an event-log prefix.
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a1", v1::JOB_STATE_RUNNING, "key-a1"), events_a1).ok());
  const v1::Job b = MakeJob("job-b", v1::JOB_STATE_FAILED);
  ASSERT_TRUE(this->jobs_->CreateJob(b, {MakeEvent("job-b", 1)}).ok());

  ASSERT_TRUE(this->jobs_->DeleteJobs({a, b}, /*sync=*/true).ok());
  EXPECT_FALSE(this->jobs_->GetJob("job-a")->has_value());
  EXPECT_FALSE(this->jobs_->GetJob("job-b")->has_value());
  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), IsEmpty());
  EXPECT_THAT(this->ListSeqs("job-b", 0, 0), IsEmpty());
  EXPECT_EQ(*this->jobs_->FindJobByIdempotencyKey("key-a"), std::nullopt);
  EXPECT_TRUE(this->jobs_->GetJob("job-a1")->has_value());
  EXPECT_THAT(this->ListSeqs("job-a1", 0, 0), ElementsAre(1u, 2u));
  EXPECT_EQ(*this->jobs_->FindJobByIdempotencyKey("key-a1"), std::optional<std::string>("job-a1"));
  std::vector<std::string> left;
  ASSERT_TRUE(this->jobs_->ForEachJob([&](v1::Job job) {
    left.push_back(job.id());
    return absl::OkStatus();
  }).ok());
  EXPECT_THAT(left, ElementsAre("job-a1"));
  EXPECT_TRUE(this->jobs_->DeleteJobs({}, /*sync=*/false).ok());
}

TYPED_TEST(JobStoreTest, ListEventsHonoursFromSeqAndLimit) {
  std::vector<v1::JobEvent> events;
  for (uint64_t seq = 1; seq <= 10; ++seq) events.push_back(MakeEvent("job-a", seq));
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a"), events).ok());

  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u));
  EXPECT_THAT(this->ListSeqs("job-a", 1, 0), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u));
  EXPECT_THAT(this->ListSeqs("job-a", 7, 0), ElementsAre(7u, 8u, 9u, 10u));
  EXPECT_THAT(this->ListSeqs("job-a", 10, 0), ElementsAre(10u));
  EXPECT_THAT(this->ListSeqs("job-a", 11, 0), IsEmpty());
  EXPECT_THAT(this->ListSeqs("job-a", 3, 2), ElementsAre(3u, 4u));
  EXPECT_THAT(this->ListSeqs("job-a", 0, 1), ElementsAre(1u));
  EXPECT_THAT(this->ListSeqs("job-a", 9, 5), ElementsAre(9u, 10u));
  EXPECT_THAT(this->ListSeqs("job-a", UINT64_MAX, 0), IsEmpty());
  auto events_of_other = this->jobs_->ListEvents("job-b", 0, 0);
  ASSERT_TRUE(events_of_other.ok());
  EXPECT_THAT(*events_of_other, IsEmpty());
}

TYPED_TEST(JobStoreTest, EventsOrderNumericallyBeyondOneByte) {
  // seq 255 < 256 < 65536: big-endian keys keep numeric order.
  std::vector<v1::JobEvent> events;
  for (uint64_t seq : {65'536u, 1u, 256u, 255u, 257u}) events.push_back(MakeEvent("job-a", seq));
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a"), events).ok());
  EXPECT_THAT(this->ListSeqs("job-a", 0, 0), ElementsAre(1u, 255u, 256u, 257u, 65'536u));
  EXPECT_THAT(this->ListSeqs("job-a", 256, 2), ElementsAre(256u, 257u));
}

TYPED_TEST(JobStoreTest, EventsOfJobsWhoseIdsArePrefixesStayApart) {
  // "job-1" is a prefix of "job-10": their event ranges must not mix.
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-1"), {MakeEvent("job-1", 1), MakeEvent("job-1", 2)}).ok());
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-10"), {MakeEvent("job-10", 1)}).ok());
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-"), {MakeEvent("job-", 5)}).ok());
  EXPECT_THAT(this->ListSeqs("job-1", 0, 0), ElementsAre(1u, 2u));
  EXPECT_THAT(this->ListSeqs("job-10", 0, 0), ElementsAre(1u));
  EXPECT_THAT(this->ListSeqs("job-", 0, 0), ElementsAre(5u));
}

TYPED_TEST(JobStoreTest, ForEachJobVisitsInIdOrder) {
  for (const char* id : {"job-c", "job-a", "job-b"}) ASSERT_TRUE(this->jobs_->CreateJob(MakeJob(id), {}).ok());
  std::vector<std::string> ids;
  ASSERT_TRUE(this->jobs_->ForEachJob([&](v1::Job job) {
    ids.push_back(job.id());
    EXPECT_EQ(job.spec().name(), "name of " + job.id());
    return absl::OkStatus();
  }).ok());
  EXPECT_THAT(ids, ElementsAre("job-a", "job-b", "job-c"));
}

TYPED_TEST(JobStoreTest, ForEachJobFollowsCreationOrderOfRealIds) {
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    // Distinct milliseconds; NewId's order is creation order.
    created.push_back(NewId("job", absl::FromUnixMillis(1'700'000'000'000 + 37 * i)));
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    ASSERT_TRUE(this->jobs_->CreateJob(MakeJob(*it), {}).ok());
  }
  std::vector<std::string> ids;
  ASSERT_TRUE(this->jobs_->ForEachJob([&](v1::Job job) {
    ids.push_back(job.id());
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(ids, created);
}

TYPED_TEST(JobStoreTest, ForEachJobStopsOnTheFirstError) {
  for (const char* id : {"job-a", "job-b", "job-c"}) ASSERT_TRUE(this->jobs_->CreateJob(MakeJob(id), {}).ok());
  int visits = 0;
  const absl::Status s = this->jobs_->ForEachJob([&](v1::Job job) {
    ++visits;
    return job.id() == "job-b" ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(s, absl::CancelledError("enough"));
  EXPECT_EQ(visits, 2);
}

TYPED_TEST(JobStoreTest, CorruptJobRecordIsDataLossNamingTheKey) {
  WriteBatch batch;
  batch.Put(Table::kJobs, "job-broken", std::string("\x0a\xff\xff\xff\x0f", 5));  // length past the end
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  auto job = this->jobs_->GetJob("job-broken");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kDataLoss) << job.status();
  EXPECT_THAT(job.status().message(), HasSubstr("jobs"));
  EXPECT_THAT(job.status().message(), HasSubstr("'job-broken'"));

  // ForEachJob reports the same record, after visiting the good ones before it.
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a"), {}).ok());
  std::vector<std::string> visited;
  const absl::Status s = this->jobs_->ForEachJob([&](v1::Job j) {
    visited.push_back(j.id());
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("'job-broken'"));
  EXPECT_THAT(visited, ElementsAre("job-a"));
}

TYPED_TEST(JobStoreTest, CorruptKeyIsEscapedInTheMessage) {
  const std::string key("job-\x01\xff", 6);
  WriteBatch batch;
  batch.Put(Table::kJobs, key, std::string("\xff\xff\xff", 3));
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  auto job = this->jobs_->GetJob(key);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(job.status().message(), HasSubstr("job-\\x01\\xff"));
}

TYPED_TEST(JobStoreTest, CorruptEventIsDataLoss) {
  ASSERT_TRUE(this->jobs_->CreateJob(MakeJob("job-a"), {MakeEvent("job-a", 1)}).ok());
  WriteBatch batch;
  batch.Put(Table::kEvents, EventKey("job-a", 2), std::string("\x12\x80", 2));  // truncated varint
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  auto events = this->jobs_->ListEvents("job-a", 0, 0);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(events.status().message(), HasSubstr("events"));
  // Events before the broken one are still readable.
  EXPECT_THAT(this->ListSeqs("job-a", 1, 1), ElementsAre(1u));
}

TYPED_TEST(JobStoreTest, WorkersArePutOverwrittenAndListedInIdOrder) {
  auto worker = [](const std::string& id, v1::WorkerState state) {
    v1::Worker w;
    w.set_id(id);
    w.set_state(state);
    return w;
  };
  ASSERT_TRUE(this->jobs_->PutWorker(worker("w-2", v1::WORKER_STATE_IDLE), /*sync=*/false).ok());
  ASSERT_TRUE(this->jobs_->PutWorker(worker("w-1", v1::WORKER_STATE_IDLE), /*sync=*/true).ok());
  ASSERT_TRUE(this->jobs_->PutWorker(worker("w-2", v1::WORKER_STATE_BUSY), /*sync=*/true).ok());
  std::vector<std::pair<std::string, v1::WorkerState>> seen;
  ASSERT_TRUE(this->jobs_->ForEachWorker([&](v1::Worker w) {
    seen.emplace_back(w.id(), w.state());
    return absl::OkStatus();
  }).ok());
  EXPECT_THAT(seen, ElementsAre(std::pair<std::string, v1::WorkerState>("w-1", v1::WORKER_STATE_IDLE),
                                std::pair<std::string, v1::WorkerState>("w-2", v1::WORKER_STATE_BUSY)));
  // Workers do not show up as jobs.
  int jobs = 0;
  ASSERT_TRUE(this->jobs_->ForEachJob([&](v1::Job) {
    ++jobs;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(jobs, 0);
}

TYPED_TEST(JobStoreTest, ForEachWorkerReportsACorruptWorker) {
  WriteBatch batch;
  batch.Put(Table::kWorkers, "w-bad", std::string("\x0a\x05", 2));
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  const absl::Status s = this->jobs_->ForEachWorker([](v1::Worker) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("'w-bad'"));
}

}  // namespace
}  // namespace nmoe::storage
