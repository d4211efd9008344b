#include "bench/coordinator/coordinator_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nmoe::bench {
namespace {

std::string RandomToken() {
  std::random_device rd;
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string token = "bench-";
  for (int i = 0; i < 32; ++i) token += kChars[rd() % (sizeof(kChars) - 1)];
  return token;
}

}  // namespace

std::string DefaultCoordinatorBinary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "nmoe-coordinator";
  return (self.parent_path().parent_path() / "coordinator" / "nmoe-coordinator").string();
}

absl::StatusOr<std::unique_ptr<CoordinatorProcess>> CoordinatorProcess::Start(
    const CoordinatorProcessOptions& options) {
  if (access(options.binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no executable coordinator at ", options.binary));
  }
  std::unique_ptr<CoordinatorProcess> p(new CoordinatorProcess());
  p->keep_dir_ = options.keep_dir;
  std::string dir_template = options.parent_dir + "/nmoe-bench-XXXXXX";
  if (!mkdtemp(dir_template.data())) return absl::InternalError(absl::StrCat("mkdtemp failed in ", options.parent_dir));
  p->dir_ = dir_template;
  p->token_ = RandomToken();
  const std::string token_file = p->dir_ + "/tokens", port_file = p->dir_ + "/port";
  const std::string log_file = p->dir_ + "/coordinator.log";
  std::ofstream(token_file) << p->token_ << "\n";

  std::vector<std::string> args = {options.binary, "--data-dir", p->dir_ + "/data", "--listen", "127.0.0.1:0",
                                   "--port-file", port_file, "--token-file", token_file};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    const int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  p->pid_ = pid;

  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      p->pid_ = -1;
      return absl::UnavailableError(absl::StrCat("coordinator exited early (status ", status, "); see ", log_file));
    }
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      p->port_ = port;
      return p;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("coordinator wrote no port file in 30 s; see ", log_file));
}

double CoordinatorProcess::CpuSeconds() const {
  if (pid_ <= 0) return -1;
  std::ifstream in(absl::StrCat("/proc/", pid_, "/stat"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string stat = buffer.str();
  const size_t paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
  // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

absl::StatusOr<int> CoordinatorProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("coordinator is not running");
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return absl::InternalError(absl::StrCat("coordinator died by signal ", WTERMSIG(status)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError(absl::StrCat("coordinator ignored SIGTERM for ", absl::FormatDuration(timeout)));
}

CoordinatorProcess::~CoordinatorProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!keep_dir_ && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace nmoe::bench
