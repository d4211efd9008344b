#include "compute/blas_kernels.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "compute/blas_probe.h"
#include "compute/cpu_features.h"
#include "compute/torch_gemm.h"

extern char** environ;

namespace nmoe::compute {
namespace {

constexpr char kSelfExe[] = "/proc/self/exe";

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// The control value: --blas-kernels=V or --blas-kernels V, else the env var.
std::string ControlValue(int argc, char** argv) {
  const std::string flag = kBlasKernelsFlag;
  for (int i = 1; i < argc && argv[i] != nullptr; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, flag + "=")) return arg.substr(flag.size() + 1);
    if (arg == flag && i + 1 < argc && argv[i + 1] != nullptr) return argv[i + 1];
  }
  return Env(kBlasKernelsEnv).value_or("");
}

// A complete argv/envp pair for execve, built before it is needed (the SIGILL
// handler may only call async-signal-safe functions, so nothing is built there).
struct ExecImage {
  std::vector<std::string> env;
  std::vector<char*> envp;
  char** argv = nullptr;

  void Seal() {
    envp.clear();
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

// environ without `drop`, plus `set` (NAME=value strings).
ExecImage MakeImage(char** argv, const std::vector<std::string>& drop, const std::vector<std::string>& set) {
  ExecImage image;
  image.argv = argv;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool dropped = false;
    for (const auto& d : drop) dropped = dropped || d == name;
    if (!dropped) image.env.push_back(entry);
  }
  for (const auto& s : set) image.env.push_back(s);
  image.Seal();
  return image;
}

void FlushLogs() {
  spdlog::default_logger()->flush();
  std::fflush(nullptr);
}

// Replaces the process; returns only when execve failed.
void Reexec(ExecImage& image) {
  FlushLogs();
  execve(kSelfExe, image.argv, image.envp.data());
  spdlog::warn("blas: cannot restart through {}: {}; keeping the current kernels", kSelfExe, std::strerror(errno));
}

// The image to restart with after a rejected switch: OPENBLAS_CORETYPE back
// to the user's value (or unset), the marker saying "rejected".
ExecImage RejectImage(char** argv, const std::string& family, const std::string& why) {
  std::vector<std::string> set = {absl::StrCat(kBlasMarkerEnv, "=rejected:", family, ":", why)};
  if (auto saved = Env(kBlasSavedCoretypeEnv)) set.push_back(absl::StrCat("OPENBLAS_CORETYPE=", *saved));
  return MakeImage(argv, {"OPENBLAS_CORETYPE", kBlasMarkerEnv, kBlasSavedCoretypeEnv}, set);
}

// SIGILL during the self-check of a switched family means the kernels use an
// instruction this CPU (or its hypervisor) does not provide: restart rejected.
ExecImage* g_sigill_image = nullptr;  // set only while the guarded check runs

extern "C" void OnSigillDuringCheck(int) {
  static const char kMsg[] = "nmoe: SIGILL in the BLAS self-check; restarting without the kernel override\n";
  [[maybe_unused]] ssize_t w = write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
  if (g_sigill_image != nullptr) execve(kSelfExe, g_sigill_image->argv, g_sigill_image->envp.data());
  _exit(128 + SIGILL);
}

SelfCheckResult GuardedSelfCheck(const BlasKernelOptions& options, const GemmFn& gemm, ExecImage* on_sigill) {
  struct sigaction action {}, previous {};
  action.sa_handler = OnSigillDuringCheck;
  sigemptyset(&action.sa_mask);
  // NODEFER: SIGILL must not stay blocked in the restarted image (masks survive execve).
  action.sa_flags = SA_NODEFER | SA_RESETHAND;
  g_sigill_image = on_sigill;
  sigaction(SIGILL, &action, &previous);
  SelfCheckResult result = RunGemmSelfCheck(gemm, options.bound);
  sigaction(SIGILL, &previous, nullptr);
  g_sigill_image = nullptr;
  return result;
}

// NAME=value entries that make the next image run with OMP_WAIT_POLICY=passive,
// or none when it is set already (by the user, or by an earlier image).
std::vector<std::string> OmpWaitPolicyEnv() {
  if (std::getenv(kOmpWaitPolicyEnv) != nullptr) return {};
  return {absl::StrCat(kOmpWaitPolicyEnv, "=passive"), absl::StrCat(kOmpMarkerEnv, "=passive")};
}

// Restarts with OMP_WAIT_POLICY=passive when it is unset; returns when it is set
// (or when execve failed: logged).
void EnsureOmpWaitPolicy(char** argv) {
  const std::vector<std::string> set = OmpWaitPolicyEnv();
  if (set.empty()) return;
  ExecImage image = MakeImage(argv, {kOmpMarkerEnv}, set);
  Reexec(image);
}

void ReportOmpWaitPolicy(BlasKernelReport& report) {
  const char* policy = std::getenv(kOmpWaitPolicyEnv);
  report.omp_wait_policy = policy == nullptr ? "" : policy;
  report.omp_wait_policy_set_by_nmoe = Env(kOmpMarkerEnv).has_value() && report.omp_wait_policy == "passive";
  if (report.omp_wait_policy_set_by_nmoe) {
    spdlog::info("omp: OMP_WAIT_POLICY was unset; restarted with OMP_WAIT_POLICY=passive (idle OpenMP threads "
                 "sleep instead of spinning; set OMP_WAIT_POLICY to choose)");
  }
}

bool SameFamily(const std::string& a, const std::string& b) {
  return absl::AsciiStrToLower(a) == absl::AsciiStrToLower(b);
}

}  // namespace

BlasKernelReport EnsureBestBlasKernels(int argc, char** argv, const BlasKernelOptions& options) {
  BlasKernelReport report;
  const GemmFn gemm = options.gemm ? options.gemm : TorchFp32Gemm();
  report.request = ControlValue(argc, argv);
  KernelRequest request;
  if (auto parsed = ParseKernelRequest(report.request); parsed.ok()) {
    request = *parsed;
  } else {
    spdlog::warn("blas: {}; using auto", std::string(parsed.status().message()));
  }
  const BlasInfo blas = ProbeBlas();
  report.corename = blas.corename;
  const std::optional<std::string> marker = Env(kBlasMarkerEnv);
  // Only a first image in auto/best/family mode may restart for the kernels:
  // it folds the wait policy into that restart; every other image restarts for it now.
  if (request.mode == KernelMode::kOff || marker) EnsureOmpWaitPolicy(argv);
  ReportOmpWaitPolicy(report);
  if (request.mode == KernelMode::kOff) {
    report.action = "off";
    report.reason = "kernel choice and self-check disabled (off)";
    return report;
  }

  std::vector<std::string> parts;
  if (marker) parts = absl::StrSplit(*marker, absl::MaxSplits(':', 2));
  parts.resize(3);

  if (marker && parts[0] == "applied") {
    // We are the restarted process: keep the family only if its GEMM is right.
    report.family = parts[1];
    report.previous = parts[2];
    if (!SameFamily(blas.corename, report.family)) {
      spdlog::warn("blas: OPENBLAS_CORETYPE={} was set but OpenBLAS runs {}", report.family, blas.corename);
    }
    ExecImage reject = RejectImage(argv, report.family, "SIGILL");
    report.self_checked = true;
    report.self_check = GuardedSelfCheck(options, gemm, &reject);
    if (report.self_check.passed) {
      report.action = "switched";
      report.reason = absl::StrCat("switched from ", report.previous.empty() ? "?" : report.previous, " to ",
                                   blas.corename);
      return report;
    }
    spdlog::warn("blas: kernel family {} failed the start-up self-check ({}); restarting with the library's own choice",
                 report.family, report.self_check.detail);
    ExecImage image = RejectImage(argv, report.family, "self-check");
    Reexec(image);
    report.action = "kept";
    report.reason = absl::StrCat(report.family, " failed its self-check and the restart failed");
    return report;
  }

  if (marker && parts[0] == "rejected") {
    report.action = "rejected";
    report.family = parts[1];
    report.reason = absl::StrCat(parts[1], " was rejected (", parts[2], "); kept the library's choice ",
                                 blas.corename.empty() ? BlasKindName(blas.kind) : blas.corename);
    spdlog::warn("blas: {}", report.reason);
  } else {
    const CpuFeatures cpu = DetectCpuFeatures();
    const std::optional<std::string> user = Env("OPENBLAS_CORETYPE");
    const KernelDecision decision = DecideKernels(request, cpu, blas, user);
    report.action = "kept";
    report.reason = decision.reason;
    if (decision.reexec) {
      spdlog::info("blas: {}; restarting with OPENBLAS_CORETYPE={}", decision.reason, decision.family);
      std::vector<std::string> set = {
          absl::StrCat("OPENBLAS_CORETYPE=", decision.family),
          absl::StrCat(kBlasMarkerEnv, "=applied:", decision.family, ":", blas.corename)};
      if (user) set.push_back(absl::StrCat(kBlasSavedCoretypeEnv, "=", *user));
      for (auto& entry : OmpWaitPolicyEnv()) set.push_back(std::move(entry));
      ExecImage image =
          MakeImage(argv, {"OPENBLAS_CORETYPE", kBlasMarkerEnv, kBlasSavedCoretypeEnv, kOmpMarkerEnv}, set);
      Reexec(image);
      report.reason = absl::StrCat(decision.reason, " (restart failed: kept ", blas.corename, ")");
    }
    EnsureOmpWaitPolicy(argv);  // no kernel restart (or it failed): restart for the wait policy alone
  }
  // The kernels this process keeps (no switch to undo if they fail).
  report.self_checked = true;
  report.self_check = RunGemmSelfCheck(gemm, options.bound);
  if (!report.self_check.passed) {
    spdlog::warn("blas: the GEMM in use ({}) fails the self-check: {}; nothing to fall back to",
                 DescribeBlas(blas), report.self_check.detail);
  }
  return report;
}

std::string DescribeKernelReport(const BlasKernelReport& report) {
  std::string out = absl::StrCat("kernels ", report.corename.empty() ? "-" : report.corename, " [", report.action,
                                 "]: ", report.reason);
  if (report.self_checked) {
    absl::StrAppend(&out, absl::StrFormat("; self-check %s (max rel err %.2g)",
                                          report.self_check.passed ? "passed" : "FAILED",
                                          report.self_check.max_rel_error));
  }
  return out;
}

}  // namespace nmoe::compute
