// nmoe-worker's --data-root: an in-process Agent against a real in-process
// coordinator (which has no roots of its own) fails a task whose spec names a
// path outside the worker's roots before the task runs, and runs one inside.
#include <atomic>
#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/server.h"
#include "tests/support/temp_dir.h"
#include "worker/agent.h"

namespace nmoe::worker {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "roots-token";

class CountingTask final : public Task {
 public:
  explicit CountingTask(std::atomic<int>* runs) : runs_(runs) {}
  absl::Status Run(TaskContext&) override {
    ++*runs_;
    return absl::OkStatus();
  }

 private:
  std::atomic<int>* runs_;
};

TEST(WorkerDataRootsTest, TasksNamingPathsOutsideTheRootsFailBeforeRunning) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "work");
  std::filesystem::create_directories(dir.path() / "data");
  std::filesystem::create_directory_symlink("/etc", dir.path() / "work" / "etc-link");

  coordinator::ServerConfig config;
  config.data_dir = dir.file("db");
  config.listen = "127.0.0.1:0";
  config.tokens = {kToken};
  config.control.heartbeat_interval = absl::Milliseconds(100);
  config.tick_interval = absl::Milliseconds(50);
  auto server = coordinator::CoordinatorServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();

  AgentOptions options;
  options.connection.address = "127.0.0.1:" + std::to_string((*server)->port());
  options.connection.token = kToken;
  options.work_dir = dir.file("work");
  options.report_interval = absl::Milliseconds(50);
  auto roots = DataRoots::Create({dir.file("data"), options.work_dir});
  ASSERT_TRUE(roots.ok());
  options.data_roots = *roots;
  std::atomic<int> runs{0};
  TaskRegistry registry;
  registry.Register(v1::JobSpec::kProfile, [&runs] { return std::make_unique<CountingTask>(&runs); });
  Agent agent(options, &registry, nullptr);
  std::thread agent_thread([&] { EXPECT_TRUE(agent.Run().ok()); });

  auto client = cli::Client::Create(options.connection);
  auto submit = [&](const std::string& model_path) {
    v1::SubmitJobRequest request;
    auto* p = request.mutable_spec()->mutable_profile();
    p->mutable_model()->set_path(model_path);
    for (const char* lang : {"en", "el"}) {
      auto* c = p->add_corpora();
      c->set_language(lang);
      c->add_paths(dir.file("data/") + lang + ".txt");
    }
    auto r = client->Call(client->jobs(), &v1::JobService::Stub::SubmitJob, request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->job().id() : "";
  };
  auto wait_terminal = [&](const std::string& id) {
    v1::GetJobRequest get;
    get.set_job_id(id);
    for (int i = 0; i < 600; ++i) {
      auto job = client->Call(client->jobs(), &v1::JobService::Stub::GetJob, get);
      if (job.ok() && (job->state() == v1::JOB_STATE_SUCCEEDED || job->state() == v1::JOB_STATE_FAILED)) return *job;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return v1::Job();
  };

  v1::Job outside = wait_terminal(submit("/etc/model"));
  EXPECT_EQ(outside.state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(outside.last_transition().message(), HasSubstr("spec.profile.model.path: '/etc/model' is outside"));
  v1::Job through_link = wait_terminal(submit("etc-link/model"));  // relative, under the work dir, via a symlink
  EXPECT_EQ(through_link.state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(through_link.last_transition().message(), HasSubstr("resolves through a symlink"));
  EXPECT_EQ(runs.load(), 0);
  v1::Job inside = wait_terminal(submit("models/base"));  // relative: under the work dir
  EXPECT_EQ(inside.state(), v1::JOB_STATE_SUCCEEDED) << inside.last_transition().message();
  EXPECT_EQ(runs.load(), 1);

  agent.Shutdown();
  agent_thread.join();
  (*server)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace nmoe::worker
