// nmoectl (the built binary) against a real nmoe-coordinator process with
// bearer-token auth: exit codes, error lines, idempotent submit, watch, and
// a watch that survives a coordinator restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/version.h"
#include "tests/support/process.h"

namespace nmoe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

constexpr char kToken[] = "e2e-token";

struct Ctl {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

class Coordinator {
 public:
  // Starts a coordinator on `listen` with its data in `dir`; waits for its port.
  void Start(const fs::path& dir, const std::string& listen) {
    fs::create_directories(dir);
    std::ofstream(dir / "tokens") << kToken << "\n";
    fs::remove(dir / "port");
    auto child = nmoe::testing::ChildProcess::Start(
        {nmoe::testing::BuildPath("coordinator/nmoe-coordinator"), "--data-dir",
         (dir / "data").string(), "--listen", listen, "--port-file", (dir / "port").string(),
         "--metrics-listen", "127.0.0.1:0", "--token-file", (dir / "tokens").string()},
        (dir / "coordinator.log").string());
    ASSERT_TRUE(child.ok()) << child.status();
    process_ = std::make_unique<nmoe::testing::ChildProcess>(*std::move(child));
    auto lines = nmoe::testing::WaitForFileLines((dir / "port").string(), 1, absl::Seconds(30));
    ASSERT_TRUE(lines.ok()) << lines.status() << "\n"
                            << ReadAll((dir / "coordinator.log").string());
    port_ = lines->front();
  }
  // SIGTERM, then waits for a clean exit.
  void Stop() {
    if (process_ == nullptr) return;
    process_->Kill(SIGTERM);
    EXPECT_TRUE(process_->Wait(absl::Seconds(30)).ok());
    process_.reset();
  }
  std::string address() const { return "127.0.0.1:" + port_; }
  const std::string& port() const { return port_; }

 private:
  std::unique_ptr<nmoe::testing::ChildProcess> process_;
  std::string port_;
};

class NmoectlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(nmoe::testing::BuildPath("coordinator/nmoe-coordinator"))) {
      GTEST_SKIP() << "nmoe-coordinator is not built";
    }
    dir_ = fs::temp_directory_path() /
           ("nmoectl-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    coordinator_.Start(dir_, "127.0.0.1:0");
  }
  void TearDown() override {
    coordinator_.Stop();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs the nmoectl binary; `token` false = no token at all.
  Ctl Run(const std::vector<std::string>& args, bool token = true) {
    std::string command = "exec " + Quote(nmoe::testing::BuildPath("cli/nmoectl")) + " --address " +
                          Quote(coordinator_.address());
    if (token) command += std::string(" --token ") + kToken;
    for (const std::string& arg : args) command += " " + Quote(arg);
    const std::string out = (dir_ / "ctl.out").string(), err = (dir_ / "ctl.err").string();
    command += " > " + Quote(out) + " 2> " + Quote(err) + " < /dev/null";
    return Finish(Spawn(command), out, err);
  }
  nmoe::testing::ChildProcess Spawn(const std::string& command) {
    auto child =
        nmoe::testing::ChildProcess::Start({"/bin/sh", "-c", command}, (dir_ / "sh.log").string());
    EXPECT_TRUE(child.ok()) << child.status();
    return *std::move(child);
  }
  Ctl Finish(nmoe::testing::ChildProcess child, const std::string& out, const std::string& err) {
    Ctl ctl;
    absl::StatusOr<int> code = child.Wait(absl::Seconds(60));
    EXPECT_TRUE(code.ok()) << code.status();
    ctl.code = code.value_or(-1);
    ctl.out = ReadAll(out);
    ctl.err = ReadAll(err);
    return ctl;
  }
  std::string Example(const std::string& name) {
    return (fs::path(std::getenv("NMOE_SOURCE_DIR")) / "examples" / "jobs" / name).string();
  }

  fs::path dir_;
  Coordinator coordinator_;
};

TEST_F(NmoectlE2eTest, HealthVersionAndAuth) {
  Ctl r = Run({"health"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = Run({"version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(std::string("Server version: ") + kVersion));
  EXPECT_THAT(r.out, HasSubstr("Auth required:  yes"));
  r = Run({"list"}, /*token=*/false);
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED: "));
  r = Run({"list", "--token", "wrong"}, /*token=*/false);
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED: "));
}

TEST_F(NmoectlE2eTest, SubmitIsIdempotentAndJobsAreListed) {
  Ctl first = Run({"submit", "-f", Example("profile.yaml"), "--idempotency-key", "e2e-1", "--label",
                   "run=e2e"});
  ASSERT_EQ(first.code, 0) << first.err;
  ASSERT_THAT(first.out, StartsWith("job-"));
  const std::string id = first.out.substr(0, first.out.size() - 1);
  Ctl again = Run({"submit", "-f", Example("profile.yaml"), "--idempotency-key", "e2e-1", "--label",
                   "run=e2e"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, first.out);
  EXPECT_THAT(again.err, HasSubstr("existing job"));
  // The same key with another spec is the server's INVALID_ARGUMENT: exit 4.
  Ctl other = Run({"submit", "-f", Example("profile.yaml"), "--idempotency-key", "e2e-1"});
  EXPECT_EQ(other.code, 4);
  EXPECT_THAT(other.err, StartsWith("error: INVALID_ARGUMENT: idempotency_key"));

  Ctl got = Run({"get", id, "-o", "json"});
  ASSERT_EQ(got.code, 0) << got.err;
  nlohmann::json job = nlohmann::json::parse(got.out);
  EXPECT_EQ(job["spec"]["name"], "profile-en-es-zh-el-tr-hu");
  EXPECT_EQ(job["spec"]["labels"]["run"], "e2e");
  EXPECT_EQ(job["kind"], "JOB_KIND_PROFILE");

  Ctl listed = Run({"list", "--kind", "profile", "--state", "pending,scheduled,running"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, StartsWith("ID "));
  EXPECT_THAT(listed.out, HasSubstr(id + "   profile"));
  Ctl described = Run({"describe", id});
  ASSERT_EQ(described.code, 0) << described.err;
  EXPECT_THAT(described.out, HasSubstr("SUBMITTED"));
  EXPECT_THAT(described.out, HasSubstr("Spec:\n  name: profile-en-es-zh-el-tr-hu\n"));
}

TEST_F(NmoectlE2eTest, LocalAndServerValidationErrors) {
  std::ofstream(dir_ / "bad.yaml") << "name: x\nprofile:\n  top_nn: 1\n";
  Ctl r = Run({"submit", "-f", (dir_ / "bad.yaml").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:3:3: profile.top_nn: unknown field"));
  std::ofstream(dir_ / "one.yaml") << "name: one\nprofile:\n  model: {path: models/base}\n  "
                                      "corpora: [{language: en, paths: [a]}]\n";
  r = Run({"submit", "-f", (dir_ / "one.yaml").string()});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: INVALID_ARGUMENT: spec.profile.corpora"));
  r = Run({"get", "job-does-not-exist"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
}

TEST_F(NmoectlE2eTest, CancelledJobWatchExitsThree) {
  Ctl submitted = Run({"submit", "-f", Example("allocate.yaml")});
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  const std::string id = submitted.out.substr(0, submitted.out.size() - 1);
  Ctl cancelled = Run({"cancel", id, "--reason", "e2e says stop"});
  ASSERT_EQ(cancelled.code, 0) << cancelled.err;
  Ctl watched = Run({"watch", id});
  EXPECT_EQ(watched.code, 3) << watched.err;
  EXPECT_THAT(watched.out, HasSubstr("-> cancelled"));
  Ctl events = Run({"events", id, "-o", "json"});
  ASSERT_EQ(events.code, 0) << events.err;
  EXPECT_GE(nlohmann::json::parse(events.out)["events"].size(), 2u);
}

TEST_F(NmoectlE2eTest, WatchResumesAcrossACoordinatorRestart) {
  // A job that waits for workers (none run here): a pipeline would start at once.
  Ctl submitted = Run({"submit", "-f", Example("profile.yaml")});
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  const std::string id = submitted.out.substr(0, submitted.out.size() - 1);
  const std::string out = (dir_ / "watch.out").string(), err = (dir_ / "watch.err").string();
  nmoe::testing::ChildProcess watch =
      Spawn("exec " + Quote(nmoe::testing::BuildPath("cli/nmoectl")) + " --address " +
            coordinator_.address() + " --token " + kToken + " watch " + id + " > " + Quote(out) +
            " 2> " + Quote(err));
  ASSERT_TRUE(nmoe::testing::WaitForFileLines(out, 1, absl::Seconds(30)).ok());  // SUBMITTED seen
  const std::string port = coordinator_.port();
  coordinator_.Stop();
  coordinator_.Start(dir_, "127.0.0.1:" + port);
  Ctl cancelled = Run({"cancel", id});
  ASSERT_EQ(cancelled.code, 0) << cancelled.err;
  Ctl watched = Finish(std::move(watch), out, err);
  EXPECT_EQ(watched.code, 3) << watched.err;
  EXPECT_THAT(watched.err, HasSubstr("resuming from event 2"));
  // Each event exactly once: SUBMITTED before the restart, the cancel after.
  EXPECT_EQ(std::count(watched.out.begin(), watched.out.end(), '\n'), 2) << watched.out;
  EXPECT_THAT(watched.out, HasSubstr("-> cancelled"));
}

}  // namespace
}  // namespace nmoe::cli
