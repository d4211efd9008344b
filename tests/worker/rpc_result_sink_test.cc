// RpcResultSink against a real in-process coordinator (127.0.0.1, port 0, RocksDB
// in a temp dir): what a task writes under its lease reads back through the sink
// and lands in the coordinator's ResultsStore; writes without the lease or for
// another job are refused.
#include "worker/rpc_result_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/server.h"
#include "tests/support/temp_dir.h"

namespace nmoe::worker {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "sink-token";

class RpcResultSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    coordinator::ServerConfig config;
    config.data_dir = dir_.file("db");
    config.listen = "127.0.0.1:0";
    config.tokens = {kToken};
    auto server = coordinator::CoordinatorServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cli::ConnectionOptions connection;
    connection.address = "127.0.0.1:" + std::to_string(server_->port());
    connection.token = kToken;
    client_ = cli::Client::Create(connection);

    // A job leased to a registered worker.
    v1::SubmitJobRequest submit;
    auto* spec = submit.mutable_spec();
    spec->set_name("profile");
    spec->mutable_profile()->mutable_model()->set_path("models/base");
    for (const char* lang : {"en", "el"}) {
      auto* c = spec->mutable_profile()->add_corpora();
      c->set_language(lang);
      c->add_paths(std::string("data/") + lang + ".txt");
    }
    auto job = client_->Call(client_->jobs(), &v1::JobService::Stub::SubmitJob, submit);
    ASSERT_TRUE(job.ok()) << job.status();
    job_id_ = job->job().id();
    worker_id_ = Register("holder");
    v1::LeaseTaskRequest lease;
    lease.set_worker_id(worker_id_);
    auto task = client_->Call(client_->workers(), &v1::WorkerService::Stub::LeaseTask, lease);
    ASSERT_TRUE(task.ok() && task->has_task()) << task.status();
    task_id_ = task->task().id();
  }

  std::string Register(const std::string& host) {
    v1::RegisterWorkerRequest request;
    request.mutable_capabilities()->set_device(v1::DEVICE_KIND_CPU);
    request.mutable_capabilities()->set_hostname(host);
    auto r = client_->Call(client_->workers(), &v1::WorkerService::Stub::RegisterWorker, request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->worker_id() : "";
  }

  RpcResultSink Sink(const std::string& worker_id) {
    return RpcResultSink(client_.get(), [worker_id] { return worker_id; }, task_id_, absl::Seconds(2));
  }

  v1::ProfileSummary Summary(const std::string& job_id) {
    v1::ProfileSummary summary;
    summary.set_job_id(job_id);
    auto* lang = summary.add_languages();
    lang->set_language("el");
    lang->set_criterion(v1::NEURON_CRITERION_LAPE);
    auto* layer = lang->add_layers();
    layer->set_layer(2);
    (*layer->mutable_by_component())["up_proj"] = 9;
    layer->set_total(9);
    return summary;
  }

  testing::TempDir dir_;
  std::unique_ptr<coordinator::CoordinatorServer> server_;
  std::unique_ptr<cli::Client> client_;
  std::string job_id_, worker_id_, task_id_;
};

TEST_F(RpcResultSinkTest, WritesUnderTheLeaseReadBack) {
  RpcResultSink sink = Sink(worker_id_);
  auto absent = sink.GetProfileSummary(job_id_);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(sink.PutProfileSummary(Summary(job_id_)).ok());
  auto summary = sink.GetProfileSummary(job_id_);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->has_value());
  EXPECT_EQ((*summary)->languages(0).layers(0).by_component().at("up_proj"), 9u);

  v1::Plan plan;
  plan.set_id("plan-1");
  plan.set_job_id(job_id_);
  for (uint32_t n : {1, 3, 2}) plan.add_experts_per_layer(n);
  ASSERT_TRUE(sink.PutPlan(plan).ok());
  auto got = sink.GetPlan("plan-1");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_THAT((*got)->experts_per_layer(), ::testing::ElementsAre(1u, 3u, 2u));
  auto missing = sink.GetPlan("plan-none");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  std::vector<v1::NeuronStat> stats;
  for (uint32_t i = 0; i < 3; ++i) {
    v1::NeuronStat s;
    s.set_job_id(job_id_);
    s.set_criterion(v1::NEURON_CRITERION_AP);
    s.set_language("el");
    s.set_layer(1);
    s.set_component(v1::COMPONENT_UP_PROJ);
    s.set_index(i);
    s.set_score(0.5 + i);
    stats.push_back(s);
  }
  ASSERT_TRUE(sink.PutNeuronStats(stats).ok());
  v1::QueryNeuronsRequest query;
  query.set_job_id(job_id_);
  query.set_language("el");
  auto page = server_->results().QueryNeurons(query, 100);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[2].score(), 2.5);
}

TEST_F(RpcResultSinkTest, WritesWithoutTheLeaseOrForAnotherJobAreRefused) {
  RpcResultSink other = Sink(Register("bystander"));
  const absl::Status not_holder = other.PutProfileSummary(Summary(job_id_));
  EXPECT_EQ(not_holder.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(not_holder.message(), HasSubstr("is not leased to worker"));

  RpcResultSink sink = Sink(worker_id_);
  const absl::Status wrong_job = sink.PutProfileSummary(Summary("job-someone-else"));
  EXPECT_EQ(wrong_job.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_job.message(), HasSubstr("summary.job_id"));
  auto stored = server_->results().GetProfileSummary("job-someone-else");
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());
}

TEST_F(RpcResultSinkTest, AnUnreachableCoordinatorIsRetriedThenReported) {
  RpcResultSink sink = Sink(worker_id_);
  server_->Shutdown(absl::ZeroDuration());
  const absl::Status s = sink.PutProfileSummary(Summary(job_id_));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("coordinator unreachable for 2s"));
}

}  // namespace
}  // namespace nmoe::worker
