// What this CPU can run, from cpuid and xgetbv (no torch, no BLAS).
//
// A vector extension is "usable" only when the CPU implements it (cpuid) AND
// the operating system saves its register state on context switches (XCR0,
// read with xgetbv): a CPU with AVX-512 under an OS that leaves the ZMM state
// out of XCR0 faults on the first AVX-512 instruction. The `*_usable()`
// methods are what callers should use; the raw bits are kept for reports.
#pragma once

#include <optional>
#include <string>

namespace nmoe::compute {

// Instruction-set levels that matter for BLAS kernels, in increasing order.
enum class IsaLevel {
  kBaseline = 0,  // SSE2..SSE4.2 only (or not x86)
  kAvx = 1,       // AVX (256-bit float, no FMA3/AVX2 integer)
  kAvx2 = 2,      // AVX2 + FMA3
  kAvx512 = 3,    // AVX-512 F, CD, BW, DQ, VL (the Skylake-SP set)
};

// "baseline", "AVX", "AVX2", "AVX-512".
const char* IsaLevelName(IsaLevel level);

struct CpuFeatures {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...; empty when not x86
  std::string model;   // brand string, e.g. "Intel(R) Xeon(R) Platinum 8480+"

  // cpuid bits (what the CPU implements).
  bool sse3 = false, ssse3 = false, sse4_1 = false, sse4_2 = false;
  bool avx = false, fma = false, f16c = false, avx2 = false;
  bool avx512f = false, avx512cd = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512_vnni = false, avx512_bf16 = false;
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;

  // XCR0 state the OS enabled (all false when the OS does not enable XSAVE).
  bool os_ymm = false;  // XCR0 bits 1|2: SSE and AVX state
  bool os_zmm = false;  // XCR0 bits 5|6|7: opmask, ZMM_Hi256, Hi16_ZMM
  bool os_amx = false;  // XCR0 bits 17|18: XTILECFG, XTILEDATA

  // CPUs: online (sysconf) and usable by this process (sched_getaffinity,
  // further limited by a cgroup v2 CPU quota when one is set).
  int online_cpus = 1;
  int usable_cpus = 1;
  std::optional<double> cgroup_cpu_quota;  // cpu.max quota/period, when limited

  bool avx_usable() const { return avx && os_ymm; }
  bool avx2_usable() const { return avx2 && fma && os_ymm; }
  bool avx512_usable() const {
    return avx512f && avx512cd && avx512bw && avx512dq && avx512vl && os_ymm && os_zmm;
  }
  bool avx512_bf16_usable() const { return avx512_bf16 && avx512_usable(); }
  // Linux additionally requires a per-process permission request
  // (arch_prctl ARCH_REQ_XCOMP_PERM) before the first tile instruction;
  // oneDNN makes it itself.
  bool amx_bf16_usable() const { return amx_bf16 && amx_tile && os_amx; }
  IsaLevel isa_level() const;
};

// Reads this machine's features. Never fails: on a non-x86 build every flag is false.
CpuFeatures DetectCpuFeatures();

// The cgroup v2 `cpu.max` content ("max 100000" or "<quota> <period>") as a
// CPU count (quota / period); nullopt when unlimited or malformed.
std::optional<double> ParseCgroupCpuMax(const std::string& content);

// One line for logs: "AMD EPYC, AVX2 (avx2 fma), no AVX-512, no AMX, 2/2 CPUs".
std::string DescribeCpu(const CpuFeatures& cpu);

}  // namespace nmoe::compute
