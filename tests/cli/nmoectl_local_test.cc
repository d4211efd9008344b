// `nmoectl local up|status|down` with the built binaries: up starts a real
// nmoe-coordinator and two nmoe-worker processes, both register, a 2-worker
// (gang) micro pretrain job succeeds through them, up again is idempotent,
// down stops every process and a second down is harmless.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_e2e.h"

namespace nmoe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
namespace fs = std::filesystem;
using nmoe::testing::ReadWholeFile;

struct Ctl {
  int code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Alive and not a zombie.
bool Alive(int pid) {
  if (kill(pid, 0) != 0) return false;
  const std::string stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

class NmoectlLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* binary : {"coordinator/nmoe-coordinator", "worker/nmoe-worker"}) {
      if (!fs::exists(nmoe::testing::BuildPath(binary))) GTEST_SKIP() << binary << " is not built";
    }
  }
  void TearDown() override { Run({"local", "down", "--grace", "5s"}); }

  // Runs nmoectl in the temp dir (so the default --dir .nmoe lands there),
  // without NMOE_* from the environment.
  Ctl Run(const std::vector<std::string>& args) {
    std::string command = "cd " + Quote(dir_.path().string()) +
                          " && unset NMOE_ADDRESS NMOE_TOKEN NMOE_TOKEN_FILE && exec " +
                          Quote(nmoe::testing::BuildPath("cli/nmoectl"));
    for (const std::string& arg : args) command += " " + Quote(arg);
    const std::string out = dir_.file("ctl.out"), err = dir_.file("ctl.err");
    command += " > " + Quote(out) + " 2> " + Quote(err) + " < /dev/null";
    auto child = nmoe::testing::ChildProcess::Start({"/bin/sh", "-c", command}, dir_.file("sh.log"));
    EXPECT_TRUE(child.ok()) << child.status();
    Ctl ctl;
    if (!child.ok()) return ctl;
    absl::StatusOr<int> code = child->Wait(absl::Seconds(240));
    EXPECT_TRUE(code.ok()) << code.status();
    ctl.code = code.value_or(-1);
    ctl.out = ReadWholeFile(out);
    ctl.err = ReadWholeFile(err);
    return ctl;
  }
  // Runs nmoectl against the local coordinator with the token of `up`.
  Ctl RunAgainst(const nlohmann::json& up, std::vector<std::string> args) {
    args.insert(args.begin(), {"--address", up["address"].get<std::string>(), "--token-file",
                               up["token_file"].get<std::string>()});
    return Run(args);
  }
  std::string Logs() {
    std::string logs;
    for (const char* name : {"coordinator.log", "worker-1.log", "worker-2.log"}) {
      logs += std::string("--- ") + name + "\n" + ReadWholeFile(dir_.path() / ".nmoe" / name);
    }
    return logs;
  }

  nmoe::testing::TempDir dir_;
};

TEST_F(NmoectlLocalTest, UpRunsAGangJobIsIdempotentAndDownStopsEverything) {
  Ctl up = Run({"local", "up", "--workers", "2", "-o", "json"});
  ASSERT_EQ(up.code, 0) << up.err << Logs();
  const nlohmann::json state = nlohmann::json::parse(up.out);
  std::vector<int> pids = {state["coordinator_pid"].get<int>()};
  for (const nlohmann::json& pid : state["worker_pids"]) pids.push_back(pid.get<int>());
  ASSERT_THAT(pids, SizeIs(3));
  for (int pid : pids) EXPECT_TRUE(Alive(pid)) << pid;
  const fs::path token = state["token_file"].get<std::string>();
  EXPECT_EQ(fs::status(token).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  // Roles (docs/security.md): nmoectl takes the first line (admin), the workers their worker line.
  std::ifstream token_in(token);
  std::string admin_role, admin_token, worker_role, worker_token, comment;
  std::getline(token_in, comment);
  token_in >> admin_role >> admin_token >> worker_role >> worker_token;
  EXPECT_EQ(admin_role, "admin");
  EXPECT_EQ(worker_role, "worker");
  Ctl as_worker = RunAgainst(state, {"--token", worker_token, "list"});
  EXPECT_NE(as_worker.code, 0);
  EXPECT_THAT(as_worker.err, HasSubstr("role 'worker' may not call nmoe.v1.JobService.ListJobs"));

  Ctl workers = RunAgainst(state, {"workers", "-o", "json"});
  ASSERT_EQ(workers.code, 0) << workers.err;
  const nlohmann::json listed = nlohmann::json::parse(workers.out);
  ASSERT_THAT(listed["workers"], SizeIs(2)) << workers.out;
  for (const nlohmann::json& w : listed["workers"]) {
    EXPECT_EQ(w["state"], "WORKER_STATE_IDLE") << w.dump();
    // Two workers on this machine's cores: threads = max(1, cores / 2).
    EXPECT_GE(w["capabilities"]["threads"].get<int>(), 1);
  }

  // A job that needs both workers at once (a data-parallel gang).
  nmoe::testing::PretrainJobOptions job;
  job.name = "local-gang";
  job.steps = 2;
  job.workers = 2;
  job.output = "runs/local-gang";
  std::ofstream(dir_.file("job.yaml")) << nmoe::testing::PretrainJobYaml(job);
  Ctl submit = RunAgainst(state, {"submit", "-f", dir_.file("job.yaml"), "--watch", "-o", "json"});
  EXPECT_EQ(submit.code, 0) << submit.out << submit.err << Logs();
  // Relative outputs resolve in the workers' --work-dir (default: .nmoe).
  EXPECT_TRUE(fs::exists(dir_.path() / ".nmoe" / "runs" / "local-gang")) << Logs();

  // Without --address / NMOE_ADDRESS, nmoectl finds ./.nmoe/local.json.
  Ctl found = Run({"workers"});
  EXPECT_EQ(found.code, 0) << found.err;
  EXPECT_THAT(found.out, HasSubstr("idle"));

  Ctl again = Run({"local", "up", "--workers", "2", "-o", "json"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("already running"));
  EXPECT_EQ(nlohmann::json::parse(again.out)["worker_pids"], state["worker_pids"]);
  Ctl other = Run({"local", "up", "--workers", "3"});
  EXPECT_EQ(other.code, 2);
  EXPECT_THAT(other.err, HasSubstr("already runs a coordinator with 2 workers"));

  Ctl status = Run({"local", "status"});
  EXPECT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("export NMOE_ADDRESS=" + state["address"].get<std::string>()));

  Ctl down = Run({"local", "down"});
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_THAT(down.out, HasSubstr("stopped 3 process(es)"));
  for (int pid : pids) EXPECT_FALSE(Alive(pid)) << pid;
  EXPECT_FALSE(fs::exists(dir_.path() / ".nmoe" / "local.json"));
  EXPECT_THAT(ReadWholeFile(dir_.path() / ".nmoe" / "coordinator.log"), HasSubstr("shut down cleanly"));

  Ctl second = Run({"local", "down"});
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("nothing runs"));
  EXPECT_EQ(Run({"local", "status"}).code, 1);
}

TEST_F(NmoectlLocalTest, MissingBinariesAreAUsageError) {
  Ctl up = Run({"local", "up", "--bin-dir", dir_.file("nowhere")});
  EXPECT_EQ(up.code, 2);
  EXPECT_THAT(up.err, HasSubstr("cannot find nmoe-coordinator; build it or pass --bin-dir"));
}

}  // namespace
}  // namespace nmoe::cli
