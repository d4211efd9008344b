// The fixture of nmoectl's command-line tests: whole command lines run
// in-process (RunNmoectl) against a FakeCoordinator, with a fake clock and a
// sleep that only advances it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "common/clock.h"
#include "tests/cli/fake_coordinator.h"

namespace nmoe::cli::testing {

namespace v1 = nmoe::v1;

inline constexpr int64_t kNow = 1'700'000'000;  // FakeClock's start

struct Result {
  int code;
  std::string out;
  std::string err;
};

class NmoectlTest : public ::testing::Test {
 protected:
  Result Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {"nmoectl", "--address", server_.address(), "--timeout", "5s"});
    std::ostringstream out, err;
    SessionIo io;
    io.out = &out;
    io.err = &err;
    io.env = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    io.err_is_terminal = err_is_terminal_;
    io.terminal_width = 100;
    io.clock = &clock_;
    io.sleep = [this](absl::Duration d) {
      sleeps_.push_back(d);
      clock_.Advance(d);
    };
    const int code = RunNmoectl(args, io);
    return {code, out.str(), err.str()};
  }

  void AddJob(const std::string& id, v1::JobState state) {
    std::lock_guard lock(server_.state().mu);
    server_.state().jobs.push_back(FakeCoordinator::MakeJob(id, v1::JOB_KIND_PROFILE, state, kNow));
  }

  // state changes pending->scheduled->running, a progress, a log, then `end`.
  void AddEvents(const std::string& id, v1::JobState end) {
    std::vector<v1::JobEvent>& events = server_.state().events[id];
    auto add = [&]() -> v1::JobEvent& {
      v1::JobEvent& e = events.emplace_back();
      e.set_job_id(id);
      e.set_seq(events.size());
      e.mutable_time()->set_seconds(kNow - 60 + static_cast<int64_t>(events.size()));
      return e;
    };
    auto transition = [&](v1::JobState from, v1::JobState to, const std::string& reason) {
      v1::StateTransition* t = add().mutable_state_change();
      t->set_from(from);
      t->set_to(to);
      t->set_reason(reason);
      t->set_attempt(1);
    };
    transition(v1::JOB_STATE_UNSPECIFIED, v1::JOB_STATE_PENDING, "SUBMITTED");
    transition(v1::JOB_STATE_PENDING, v1::JOB_STATE_RUNNING, "LEASED");
    v1::Progress* p = add().mutable_progress();
    p->set_stage("profile");
    p->set_done(50);
    p->set_total(100);
    p->set_unit("sentences");
    p->set_rate_per_second(10);
    v1::LogLine* log = add().mutable_log();
    log->set_level(v1::LOG_LEVEL_INFO);
    log->set_text("hooks attached");
    log->set_worker_id("w-1");
    transition(v1::JOB_STATE_RUNNING, end, end == v1::JOB_STATE_SUCCEEDED ? "COMPLETED" : "ENDED");
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path =
        (std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name))
            .string();
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  ~NmoectlTest() override {
    for (const std::string& f : files_) std::filesystem::remove(f);
  }

  FakeCoordinator server_;
  FakeClock clock_;
  std::vector<absl::Duration> sleeps_;
  bool err_is_terminal_ = false;  // pretend stderr is a terminal (progress bar)
  std::vector<std::string> files_;
};

}  // namespace nmoe::cli::testing
