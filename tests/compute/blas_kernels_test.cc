// EnsureBestBlasKernels in real processes: tests/compute/blas_kernels_child
// runs with a controlled environment; its log shows each image it started
// ("start ..." lines: execve keeps the pid and the log), the final report
// and an independent GEMM check against float64.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "compute/openblas_kernels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::compute {
namespace {

using ::testing::HasSubstr;

struct ChildRun {
  int exit_code = -1;
  std::vector<std::string> starts;           // "start ..." lines, one per image
  std::map<std::string, std::string> result;  // key=value of the "result" line
  std::string reason;
  std::string log;
};

// Runs the child with inherited control variables removed, then `env` added.
// OMP_WAIT_POLICY is passive unless `omp_unset` (then nmoe sets it: one more image).
ChildRun RunChild(const std::vector<std::string>& env, const std::vector<std::string>& flags = {},
                  bool omp_unset = false) {
  testing::TempDir dir;
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "-u", "OPENBLAS_CORETYPE", "-u", "NMOE_BLAS_KERNELS",
                                   "-u", "NMOE_BLAS_REEXEC",  "-u", "NMOE_BLAS_SAVED_CORETYPE",
                                   "-u", "OMP_WAIT_POLICY",   "-u", "NMOE_OMP_REEXEC"};
  if (!omp_unset) argv.push_back("OMP_WAIT_POLICY=passive");
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(testing::BuildPath("tests/compute/blas_kernels_child"));
  argv.insert(argv.end(), flags.begin(), flags.end());
  ChildRun run;
  auto child = testing::ChildProcess::Start(argv, dir.file("log"));
  if (!child.ok()) {
    ADD_FAILURE() << child.status();
    return run;
  }
  auto code = child->Wait(absl::Seconds(120));
  if (!code.ok()) {
    ADD_FAILURE() << code.status();
    return run;
  }
  run.exit_code = *code;
  std::ifstream in(dir.file("log"));
  std::string line;
  while (std::getline(in, line)) {
    run.log += line + "\n";
    absl::string_view rest = line;
    if (absl::StartsWith(line, "start ")) run.starts.push_back(line);
    if (absl::ConsumePrefix(&rest, "reason ")) run.reason = std::string(rest);
    if (absl::ConsumePrefix(&rest, "result ")) {
      for (absl::string_view kv : absl::StrSplit(rest, ' ', absl::SkipEmpty())) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        run.result[p.first] = p.second;
      }
    }
  }
  return run;
}

double Num(const ChildRun& run, const std::string& key) {
  double v = -1;
  auto it = run.result.find(key);
  if (it == run.result.end() || !absl::SimpleAtod(it->second, &v)) return -1;
  return v;
}

// Asserts the common invariants: clean exit, a result, LibTorch's GEMM right.
void ExpectHealthy(const ChildRun& run) {
  EXPECT_EQ(run.exit_code, 0) << run.log;
  ASSERT_FALSE(run.result.empty()) << run.log;
  EXPECT_EQ(run.result.at("gemm_ran"), "1") << run.log;
  EXPECT_GE(Num(run, "gemm_rel_err"), 0) << run.log;
  EXPECT_LT(Num(run, "gemm_rel_err"), 1e-5) << run.log;
  EXPECT_LE(run.starts.size(), 3u) << run.log;
}

// The family this CPU should get, from /proc/cpuinfo flags (independent of cpuid code).
std::string ExpectedBestFamily() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "flags")) continue;
    for (absl::string_view f : absl::StrSplit(line.substr(line.find(':') + 1), ' ', absl::SkipEmpty())) {
      flags.insert(std::string(f));
    }
    break;
  }
  auto has = [&](const char* f) { return flags.count(f) > 0; };
  if (has("avx512f") && has("avx512cd") && has("avx512bw") && has("avx512dq") && has("avx512vl")) return "SkylakeX";
  if (has("avx2") && has("fma")) return "Haswell";
  if (has("avx")) return "Sandybridge";
  return "";
}

class BlasKernelsTest : public ::testing::Test {
 protected:
  // The library's own choice, with nmoe's switching off: one child per suite.
  static void SetUpTestSuite() {
    own_ = new ChildRun(RunChild({"NMOE_BLAS_KERNELS=off"}));
    own_family_ = own_->result["corename"];
    best_ = ExpectedBestFamily();
    // A family to force that differs from the library's own choice.
    forced_ = own_family_ == "Prescott" ? "Core2" : "Prescott";
  }
  static void TearDownTestSuite() {
    delete own_;
    own_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(own_->exit_code, 0) << own_->log;
    if (own_->result["blas"] != "OpenBLAS") GTEST_SKIP() << "BLAS is " << own_->result["blas"] << ", not OpenBLAS";
    EXPECT_EQ(own_->result["action"], "off");
    EXPECT_EQ(own_->result["self_checked"], "0");
    EXPECT_EQ(own_->starts.size(), 1u);
  }

  static ChildRun* own_;
  static std::string own_family_, best_, forced_;
};

ChildRun* BlasKernelsTest::own_ = nullptr;
std::string BlasKernelsTest::own_family_;
std::string BlasKernelsTest::best_;
std::string BlasKernelsTest::forced_;

TEST_F(BlasKernelsTest, DefaultEndsOnTheCpusBestLevel) {
  ChildRun run = RunChild({});
  ExpectHealthy(run);
  EXPECT_EQ(run.result["self_check"], "passed");
  const auto own_level = OpenBlasFamilyLevel(own_family_);
  const auto best_level = OpenBlasFamilyLevel(best_.empty() ? "Prescott" : best_);
  if (best_.empty() || !own_level || *own_level >= *best_level) {
    EXPECT_EQ(run.starts.size(), 1u) << run.log;  // nothing to improve: no restart
    EXPECT_EQ(run.result["corename"], own_family_);
    EXPECT_EQ(run.result["action"], "kept");
  } else {
    ASSERT_EQ(run.starts.size(), 2u) << run.log;
    EXPECT_THAT(run.starts[1], HasSubstr("marker=applied:" + best_ + ":" + own_family_));
    EXPECT_EQ(run.result["corename"], best_);
    EXPECT_EQ(run.result["action"], "switched");
  }
}

TEST_F(BlasKernelsTest, UsersCoretypeIsKeptInAutoMode) {
  ChildRun run = RunChild({"OPENBLAS_CORETYPE=Prescott"});
  ExpectHealthy(run);
  EXPECT_EQ(run.starts.size(), 1u) << run.log;
  EXPECT_EQ(run.result["corename"], "Prescott");
  EXPECT_EQ(run.result["action"], "kept");
  EXPECT_THAT(run.reason, HasSubstr("set by the user"));
}

TEST_F(BlasKernelsTest, BestModeRestartsAnOldFamilyIntoTheCpusBest) {
  if (best_.empty()) GTEST_SKIP() << "CPU without AVX: no better family";
  ChildRun run = RunChild({"OPENBLAS_CORETYPE=Prescott", "NMOE_BLAS_KERNELS=best"});
  ExpectHealthy(run);
  ASSERT_EQ(run.starts.size(), 2u) << run.log;
  EXPECT_THAT(run.starts[0], HasSubstr("coretype=Prescott"));
  EXPECT_THAT(run.starts[1], HasSubstr("marker=applied:" + best_ + ":Prescott"));
  EXPECT_THAT(run.starts[1], HasSubstr("coretype=" + best_));
  EXPECT_EQ(run.result["corename"], best_);
  EXPECT_EQ(run.result["action"], "switched");
  EXPECT_EQ(run.result["previous"], "Prescott");
  EXPECT_EQ(run.result["self_check"], "passed");
  EXPECT_LT(Num(run, "rel_err"), 1e-5);
}

TEST_F(BlasKernelsTest, FlagForcesAFamily) {
  ChildRun run = RunChild({}, {"--blas-kernels=" + forced_});
  ExpectHealthy(run);
  ASSERT_EQ(run.starts.size(), 2u) << run.log;
  EXPECT_EQ(run.result["corename"], forced_);
  EXPECT_EQ(run.result["action"], "switched");
}

TEST_F(BlasKernelsTest, SelfCheckFailureRestartsWithTheLibrarysChoice) {
  ChildRun run = RunChild({"NMOE_BLAS_KERNELS=" + forced_}, {"--bad-gemm-for=" + forced_});
  ExpectHealthy(run);
  ASSERT_EQ(run.starts.size(), 3u) << run.log;
  EXPECT_THAT(run.starts[1], HasSubstr("marker=applied:" + forced_));
  EXPECT_THAT(run.starts[2], HasSubstr("marker=rejected:" + forced_ + ":self-check"));
  EXPECT_THAT(run.starts[2], HasSubstr("coretype=-"));  // override removed
  EXPECT_THAT(run.log, HasSubstr("failed the start-up self-check"));
  EXPECT_EQ(run.result["action"], "rejected");
  EXPECT_EQ(run.result["family"], forced_);
  EXPECT_EQ(run.result["corename"], own_family_);
  EXPECT_EQ(run.result["self_check"], "passed");  // the library's own kernels are fine
}

TEST_F(BlasKernelsTest, RejectionRestoresTheUsersCoretype) {
  ChildRun run = RunChild({"OPENBLAS_CORETYPE=" + own_family_, "NMOE_BLAS_KERNELS=" + forced_},
                     {"--bad-gemm-for=" + forced_});
  ExpectHealthy(run);
  ASSERT_EQ(run.starts.size(), 3u) << run.log;
  EXPECT_THAT(run.starts[2], HasSubstr("coretype=" + own_family_));
  EXPECT_EQ(run.result["corename"], own_family_);
}

TEST_F(BlasKernelsTest, SigillDuringTheCheckRejectsTheFamily) {
  ChildRun run = RunChild({"NMOE_BLAS_KERNELS=" + forced_}, {"--sigill-gemm-for=" + forced_});
  ExpectHealthy(run);
  ASSERT_EQ(run.starts.size(), 3u) << run.log;
  EXPECT_THAT(run.starts[2], HasSubstr("marker=rejected:" + forced_ + ":SIGILL"));
  EXPECT_THAT(run.log, HasSubstr("SIGILL in the BLAS self-check"));
  EXPECT_EQ(run.result["action"], "rejected");
  EXPECT_EQ(run.result["corename"], own_family_);
}

TEST_F(BlasKernelsTest, UnsupportedForcedFamilyIsRefused) {
  // A family this CPU cannot run is refused before any restart.
  const std::string beyond = best_ == "SkylakeX" ? "" : "SkylakeX";
  if (beyond.empty()) GTEST_SKIP() << "CPU runs every family nmoe would force";
  ChildRun run = RunChild({"NMOE_BLAS_KERNELS=" + beyond});
  ExpectHealthy(run);
  EXPECT_EQ(run.starts.size(), 1u) << run.log;
  EXPECT_THAT(run.reason, HasSubstr("needs more than this CPU offers"));
}

// OMP_WAIT_POLICY: libgomp reads it before main, so nmoe restarts once to set it.
TEST_F(BlasKernelsTest, UnsetOmpWaitPolicyRestartsOnceAsPassive) {
  ChildRun run = RunChild({"NMOE_BLAS_KERNELS=off"}, {}, /*omp_unset=*/true);
  EXPECT_EQ(run.exit_code, 0) << run.log;
  ASSERT_EQ(run.starts.size(), 2u) << run.log;
  EXPECT_THAT(run.starts[0], HasSubstr("omp=- omp_marker=-"));
  EXPECT_THAT(run.starts[1], HasSubstr("omp=passive omp_marker=passive"));
  EXPECT_EQ(run.result["omp_env"], "passive") << run.log;
  EXPECT_EQ(run.result["omp_by_nmoe"], "1");
  EXPECT_THAT(run.log, HasSubstr("restarted with OMP_WAIT_POLICY=passive"));
}

TEST_F(BlasKernelsTest, UsersOmpWaitPolicyIsKept) {
  ChildRun run = RunChild({"OMP_WAIT_POLICY=active", "NMOE_BLAS_KERNELS=off"}, {}, /*omp_unset=*/true);
  ExpectHealthy(run);
  EXPECT_EQ(run.result["omp_env"], "active");
  EXPECT_EQ(run.result["omp_by_nmoe"], "0");
  EXPECT_THAT(run.log, ::testing::Not(HasSubstr("restarted with OMP_WAIT_POLICY")));
  EXPECT_EQ(run.starts.size(), 1u) << run.log;
}

// Auto mode: the wait policy rides on the kernel switch's restart when there is
// one, else it costs one restart of its own.
TEST_F(BlasKernelsTest, OmpWaitPolicyAddsAtMostOneImage) {
  ChildRun run = RunChild({}, {}, /*omp_unset=*/true);
  ExpectHealthy(run);
  EXPECT_EQ(run.result["omp_env"], "passive") << run.log;
  EXPECT_EQ(run.result["omp_by_nmoe"], "1");
  EXPECT_EQ(run.starts.size(), 2u) << run.log;  // default: 1 (kept) or 2 (switched) images; passive: 2 either way
  ChildRun forced = RunChild({}, {"--blas-kernels=" + forced_}, /*omp_unset=*/true);
  ExpectHealthy(forced);
  ASSERT_EQ(forced.starts.size(), 2u) << forced.log;  // one restart for both
  EXPECT_THAT(forced.starts[1], HasSubstr("coretype=" + forced_ + " omp=passive omp_marker=passive"));
  EXPECT_EQ(forced.result["corename"], forced_);
}

TEST(BlasKernelsReferenceTest, ReferenceBlasIsReportedAndLeftAlone) {
  const std::string dir = "/usr/lib/x86_64-linux-gnu/blas";
  if (!std::filesystem::exists(dir + "/libblas.so.3")) GTEST_SKIP() << "no reference BLAS installed";
  ChildRun run = RunChild({"LD_LIBRARY_PATH=" + dir});
  ExpectHealthy(run);
  EXPECT_EQ(run.result["blas"], "reference_BLAS") << run.log;
  EXPECT_EQ(run.starts.size(), 1u);
  EXPECT_EQ(run.result["action"], "kept");
  EXPECT_THAT(run.reason, HasSubstr("reference BLAS"));
  EXPECT_EQ(run.result["self_check"], "passed");
}

}  // namespace
}  // namespace nmoe::compute
