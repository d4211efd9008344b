#include "compute/cpu_features.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define NMOE_X86 1
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace nmoe::compute {
namespace {

#ifdef NMOE_X86
struct Regs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// cpuid(leaf, subleaf); all zero when the leaf is beyond the CPU's maximum.
Regs Cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  Regs r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return Regs{};
  return r;
}

bool Bit(uint32_t word, int bit) { return (word >> bit) & 1u; }

// XCR0 via xgetbv. Only valid when cpuid.1:ECX.OSXSAVE[27] is set.
uint64_t ReadXcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

void DetectX86(CpuFeatures& f) {
  const Regs r0 = Cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &r0.ebx, 4);
  std::memcpy(vendor + 4, &r0.edx, 4);
  std::memcpy(vendor + 8, &r0.ecx, 4);
  f.vendor = vendor;
  const uint32_t max_leaf = r0.eax;

  const Regs r1 = Cpuid(1);
  f.sse3 = Bit(r1.ecx, 0);
  f.ssse3 = Bit(r1.ecx, 9);
  f.fma = Bit(r1.ecx, 12);
  f.sse4_1 = Bit(r1.ecx, 19);
  f.sse4_2 = Bit(r1.ecx, 20);
  const bool osxsave = Bit(r1.ecx, 27);
  f.avx = Bit(r1.ecx, 28);
  f.f16c = Bit(r1.ecx, 29);

  if (max_leaf >= 7) {
    const Regs r7 = Cpuid(7, 0);
    f.avx2 = Bit(r7.ebx, 5);
    f.avx512f = Bit(r7.ebx, 16);
    f.avx512dq = Bit(r7.ebx, 17);
    f.avx512cd = Bit(r7.ebx, 28);
    f.avx512bw = Bit(r7.ebx, 30);
    f.avx512vl = Bit(r7.ebx, 31);
    f.avx512_vnni = Bit(r7.ecx, 11);
    f.amx_bf16 = Bit(r7.edx, 22);
    f.amx_tile = Bit(r7.edx, 24);
    f.amx_int8 = Bit(r7.edx, 25);
    if (r7.eax >= 1) f.avx512_bf16 = Bit(Cpuid(7, 1).eax, 5);
  }

  if (osxsave) {
    const uint64_t xcr0 = ReadXcr0();
    f.os_ymm = (xcr0 & 0x6) == 0x6;
    f.os_zmm = (xcr0 & 0xe0) == 0xe0;
    f.os_amx = (xcr0 & 0x60000) == 0x60000;
  }

  const uint32_t max_ext = Cpuid(0x80000000).eax;
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      const Regs r = Cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i + 0, &r.eax, 4);
      std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &r.edx, 4);
    }
    f.model = std::string(absl::StripAsciiWhitespace(brand));
  }
}
#endif  // NMOE_X86

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The cgroup v2 CPU limit of this process: cpu.max of its own cgroup (from
// /proc/self/cgroup, "0::/path"), else of the namespace root.
std::optional<double> CgroupCpuQuota() {
  std::string rel;
  for (absl::string_view line : absl::StrSplit(ReadFile("/proc/self/cgroup"), '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) rel = std::string(line);
  }
  for (const std::string& path : {absl::StrCat("/sys/fs/cgroup", rel, "/cpu.max"), std::string("/sys/fs/cgroup/cpu.max")}) {
    const std::string content = ReadFile(path);
    if (!content.empty()) return ParseCgroupCpuMax(content);
  }
  return std::nullopt;
}

}  // namespace

const char* IsaLevelName(IsaLevel level) {
  switch (level) {
    case IsaLevel::kBaseline: return "baseline";
    case IsaLevel::kAvx: return "AVX";
    case IsaLevel::kAvx2: return "AVX2";
    case IsaLevel::kAvx512: return "AVX-512";
  }
  return "?";
}

IsaLevel CpuFeatures::isa_level() const {
  if (avx512_usable()) return IsaLevel::kAvx512;
  if (avx2_usable()) return IsaLevel::kAvx2;
  if (avx_usable()) return IsaLevel::kAvx;
  return IsaLevel::kBaseline;
}

std::optional<double> ParseCgroupCpuMax(const std::string& content) {
  std::vector<std::string> parts = absl::StrSplit(absl::StripAsciiWhitespace(content), ' ', absl::SkipEmpty());
  if (parts.size() != 2 || parts[0] == "max") return std::nullopt;
  double quota = 0, period = 0;
  if (!absl::SimpleAtod(parts[0], &quota) || !absl::SimpleAtod(parts[1], &period)) return std::nullopt;
  if (!(quota > 0) || !(period > 0)) return std::nullopt;
  return quota / period;
}

CpuFeatures DetectCpuFeatures() {
  CpuFeatures f;
#ifdef NMOE_X86
  DetectX86(f);
#endif
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  f.online_cpus = online > 0 ? static_cast<int>(online) : 1;
  f.usable_cpus = f.online_cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) f.usable_cpus = std::max(1, CPU_COUNT(&set));
  f.cgroup_cpu_quota = CgroupCpuQuota();
  if (f.cgroup_cpu_quota) {
    // A quota of 1.5 CPUs still lets two threads make progress: round up.
    f.usable_cpus = std::max(1, std::min(f.usable_cpus, static_cast<int>(std::ceil(*f.cgroup_cpu_quota))));
  }
  return f;
}

std::string DescribeCpu(const CpuFeatures& cpu) {
  std::vector<std::string> extra;
  if (cpu.avx512_bf16_usable()) extra.push_back("avx512_bf16");
  if (cpu.avx512_vnni && cpu.avx512_usable()) extra.push_back("avx512_vnni");
  if (cpu.amx_bf16_usable()) extra.push_back("amx_bf16");
  std::string out = absl::StrCat(cpu.model.empty() ? "unknown CPU" : cpu.model, ", best ISA ",
                                 IsaLevelName(cpu.isa_level()));
  if (!extra.empty()) absl::StrAppend(&out, " (+", absl::StrJoin(extra, " "), ")");
  if (cpu.avx512f && !cpu.avx512_usable()) absl::StrAppend(&out, ", AVX-512 present but not enabled by the OS");
  if (cpu.amx_tile && !cpu.os_amx) absl::StrAppend(&out, ", AMX present but not enabled by the OS");
  absl::StrAppend(&out, ", ", cpu.usable_cpus, "/", cpu.online_cpus, " CPUs usable");
  return out;
}

}  // namespace nmoe::compute
