// CPU feature detection checked against an independent source: the flags the
// Linux kernel reports in /proc/cpuinfo (it clears flags whose register state
// it does not enable, which is what the *_usable() methods model).
#include "compute/cpu_features.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

// "key : value" of the first processor block in /proc/cpuinfo.
std::string CpuinfoField(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (absl::StripAsciiWhitespace(line.substr(0, colon)) == key) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

std::set<std::string> CpuinfoFlags() {
  std::set<std::string> flags;
  for (absl::string_view f : absl::StrSplit(CpuinfoField("flags"), ' ', absl::SkipEmpty())) flags.insert(std::string(f));
  return flags;
}

class CpuFeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    flags_ = CpuinfoFlags();
    if (flags_.empty()) GTEST_SKIP() << "no x86 flags line in /proc/cpuinfo";
    cpu_ = DetectCpuFeatures();
  }
  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }

  std::set<std::string> flags_;
  CpuFeatures cpu_;
};

TEST_F(CpuFeaturesTest, VendorAndModelMatchCpuinfo) {
  EXPECT_EQ(cpu_.vendor, CpuinfoField("vendor_id"));
  EXPECT_EQ(cpu_.model, CpuinfoField("model name"));
}

TEST_F(CpuFeaturesTest, BaseFlagsMatchCpuinfo) {
  EXPECT_EQ(cpu_.sse4_2, Has("sse4_2"));
  EXPECT_EQ(cpu_.ssse3, Has("ssse3"));
  EXPECT_EQ(cpu_.f16c, Has("f16c"));
  EXPECT_EQ(cpu_.avx_usable(), Has("avx"));
  EXPECT_EQ(cpu_.avx2_usable(), Has("avx2") && Has("fma"));
}

TEST_F(CpuFeaturesTest, Avx512AndAmxMatchCpuinfo) {
  const bool avx512 = Has("avx512f") && Has("avx512cd") && Has("avx512bw") && Has("avx512dq") && Has("avx512vl");
  EXPECT_EQ(cpu_.avx512_usable(), avx512);
  EXPECT_EQ(cpu_.avx512_bf16_usable(), avx512 && Has("avx512_bf16"));
  EXPECT_EQ(cpu_.amx_bf16_usable(), Has("amx_bf16") && Has("amx_tile"));
  // Linux lists a flag only for state it enabled: a listed flag implies usable.
  if (Has("avx512f")) {
    EXPECT_TRUE(cpu_.avx512f && cpu_.os_zmm);
  }
  if (Has("amx_tile")) {
    EXPECT_TRUE(cpu_.amx_tile && cpu_.os_amx);
  }
}

TEST_F(CpuFeaturesTest, IsaLevelFollowsTheUsableFlags) {
  IsaLevel want = IsaLevel::kBaseline;
  if (Has("avx")) want = IsaLevel::kAvx;
  if (Has("avx2") && Has("fma")) want = IsaLevel::kAvx2;
  if (Has("avx512f") && Has("avx512cd") && Has("avx512bw") && Has("avx512dq") && Has("avx512vl")) {
    want = IsaLevel::kAvx512;
  }
  EXPECT_EQ(cpu_.isa_level(), want) << DescribeCpu(cpu_);
}

// Cpus_allowed_list in /proc/self/status ("0-3,8") is the affinity mask, read independently.
int AllowedCpus() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v = line;
    if (!absl::ConsumePrefix(&v, "Cpus_allowed_list:")) continue;
    int count = 0;
    for (absl::string_view range : absl::StrSplit(absl::StripAsciiWhitespace(v), ',')) {
      std::vector<std::string> ends = absl::StrSplit(range, '-');
      int lo = 0, hi = 0;
      if (!absl::SimpleAtoi(ends[0], &lo)) return -1;
      hi = lo;
      if (ends.size() == 2 && !absl::SimpleAtoi(ends[1], &hi)) return -1;
      count += hi - lo + 1;
    }
    return count;
  }
  return -1;
}

TEST_F(CpuFeaturesTest, CpuCountsMatchProc) {
  const int allowed = AllowedCpus();
  ASSERT_GT(allowed, 0);
  EXPECT_GE(cpu_.online_cpus, 1);
  EXPECT_LE(cpu_.usable_cpus, allowed);
  EXPECT_LE(cpu_.usable_cpus, cpu_.online_cpus);
  if (!cpu_.cgroup_cpu_quota) {
    EXPECT_EQ(cpu_.usable_cpus, allowed);
  }
}

TEST(CgroupCpuMaxTest, Parses) {
  EXPECT_FALSE(ParseCgroupCpuMax("max 100000\n").has_value());
  EXPECT_DOUBLE_EQ(ParseCgroupCpuMax("200000 100000\n").value(), 2.0);
  EXPECT_DOUBLE_EQ(ParseCgroupCpuMax("150000 100000").value(), 1.5);
  EXPECT_FALSE(ParseCgroupCpuMax("").has_value());
  EXPECT_FALSE(ParseCgroupCpuMax("abc 100000").has_value());
  EXPECT_FALSE(ParseCgroupCpuMax("100000 0").has_value());
  EXPECT_FALSE(ParseCgroupCpuMax("1 2 3").has_value());
}

}  // namespace
}  // namespace nmoe::compute
