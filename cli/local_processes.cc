#include "cli/local_processes.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nmoe::cli {
namespace fs = std::filesystem;

absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv, const std::string& log) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", log, ": ", std::strerror(errno)));
  int pipe_fds[2];  // the child writes its exec errno here; closes on a successful exec
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execvp(args[0], args.data());
    const int error = errno;
    (void)!write(pipe_fds[1], &error, sizeof(error));
    _exit(127);
  }
  close(log_fd);
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  int error = 0;
  const ssize_t got = read(pipe_fds[0], &error, sizeof(error));
  close(pipe_fds[0]);
  if (got == sizeof(error)) {
    waitpid(pid, nullptr, 0);
    return absl::FailedPreconditionError(absl::StrCat("cannot run ", argv[0], ": ", std::strerror(error)));
  }
  return pid;
}

bool IsRunning(const LocalProcess& process) {
  if (process.pid <= 0 || kill(process.pid, 0) != 0) return false;
  std::ifstream in(absl::StrCat("/proc/", process.pid, "/cmdline"), std::ios::binary);
  std::string argv0;
  std::getline(in, argv0, '\0');  // empty for a zombie
  return !argv0.empty() && argv0 == process.binary;
}

bool ChildExited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

namespace {

// Waits until none of `processes` runs or `timeout` passes; true when none runs.
bool WaitGone(const std::vector<LocalProcess>& processes, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool any = false;
    for (const LocalProcess& p : processes) {
      ChildExited(p.pid);  // reaps our own children (tests); no-op otherwise
      any = any || IsRunning(p);
    }
    if (!any) return true;
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

std::vector<std::string> StopProcesses(const std::vector<LocalProcess>& processes, absl::Duration grace) {
  for (const LocalProcess& p : processes) {
    if (IsRunning(p)) kill(p.pid, SIGTERM);
  }
  std::vector<std::string> killed;
  if (WaitGone(processes, grace)) return killed;
  for (const LocalProcess& p : processes) {
    if (IsRunning(p)) {
      kill(p.pid, SIGKILL);
      killed.push_back(p.name);
    }
  }
  WaitGone(processes, absl::Seconds(5));
  return killed;
}

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

namespace {

bool IsExecutable(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string FindDaemon(const std::string& bin_dir, const std::string& relative) {
  const std::string base = fs::path(relative).filename().string();
  if (!bin_dir.empty()) {
    for (const fs::path& p : {fs::path(bin_dir) / relative, fs::path(bin_dir) / base}) {
      if (IsExecutable(p)) return fs::absolute(p).string();
    }
    return "";
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& p : {self.parent_path().parent_path() / relative, self.parent_path() / base}) {
      if (IsExecutable(p)) return p.string();
    }
  }
  const char* path_env = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path_env != nullptr ? path_env : "", ':', absl::SkipEmpty())) {
    const fs::path p = fs::path(std::string(dir)) / base;
    if (IsExecutable(p)) return fs::absolute(p).string();
  }
  return "";
}

}  // namespace nmoe::cli
