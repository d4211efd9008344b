#include "compute/openblas_kernels.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace nmoe::compute {
namespace {

struct Family {
  const char* name;
  IsaLevel level;
  bool needs_avx512_bf16;
};

// x86-64 core names of OpenBLAS 0.3.x (driver/others/dynamic.c) and the ISA
// their kernels use. SapphireRapids appears in later releases (0.3.22+).
constexpr std::array<Family, 27> kFamilies = {{
    {"Katmai", IsaLevel::kBaseline, false},      {"Coppermine", IsaLevel::kBaseline, false},
    {"Northwood", IsaLevel::kBaseline, false},   {"Prescott", IsaLevel::kBaseline, false},
    {"Banias", IsaLevel::kBaseline, false},      {"Atom", IsaLevel::kBaseline, false},
    {"Core2", IsaLevel::kBaseline, false},       {"Penryn", IsaLevel::kBaseline, false},
    {"Dunnington", IsaLevel::kBaseline, false},  {"Nehalem", IsaLevel::kBaseline, false},
    {"Athlon", IsaLevel::kBaseline, false},      {"Opteron", IsaLevel::kBaseline, false},
    {"Opteron_SSE3", IsaLevel::kBaseline, false}, {"Barcelona", IsaLevel::kBaseline, false},
    {"Nano", IsaLevel::kBaseline, false},        {"Bobcat", IsaLevel::kBaseline, false},
    {"Sandybridge", IsaLevel::kAvx, false},      {"Bulldozer", IsaLevel::kAvx, false},
    {"Piledriver", IsaLevel::kAvx, false},       {"Steamroller", IsaLevel::kAvx, false},
    {"Excavator", IsaLevel::kAvx, false},        {"Haswell", IsaLevel::kAvx2, false},
    {"Zen", IsaLevel::kAvx2, false},             {"SkylakeX", IsaLevel::kAvx512, false},
    {"Cooperlake", IsaLevel::kAvx512, true},     {"SapphireRapids", IsaLevel::kAvx512, true},
    {"Unknown", IsaLevel::kBaseline, false},
}};

const Family* FindFamily(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const Family& f : kFamilies) {
    if (absl::AsciiStrToLower(f.name) == lower) return &f;
  }
  return nullptr;
}

}  // namespace

std::optional<IsaLevel> OpenBlasFamilyLevel(const std::string& corename) {
  const Family* f = FindFamily(corename);
  if (f == nullptr || std::string(f->name) == "Unknown") return std::nullopt;
  return f->level;
}

std::optional<std::string> CanonicalOpenBlasFamily(const std::string& name) {
  const Family* f = FindFamily(name);
  if (f == nullptr || std::string(f->name) == "Unknown") return std::nullopt;
  return std::string(f->name);
}

bool CpuSupportsFamily(const CpuFeatures& cpu, const std::string& family) {
  const Family* f = FindFamily(family);
  if (f == nullptr || std::string(f->name) == "Unknown") return false;
  if (f->needs_avx512_bf16 && !cpu.avx512_bf16_usable()) return false;
  return static_cast<int>(cpu.isa_level()) >= static_cast<int>(f->level);
}

std::optional<std::string> BestOpenBlasFamily(const CpuFeatures& cpu) {
  switch (cpu.isa_level()) {
    case IsaLevel::kAvx512: return "SkylakeX";
    case IsaLevel::kAvx2: return "Haswell";
    case IsaLevel::kAvx: return "Sandybridge";
    case IsaLevel::kBaseline: return std::nullopt;
  }
  return std::nullopt;
}

absl::StatusOr<KernelRequest> ParseKernelRequest(const std::string& value) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower.empty() || lower == "auto") return KernelRequest{KernelMode::kAuto, ""};
  if (lower == "best") return KernelRequest{KernelMode::kBest, ""};
  if (lower == "off") return KernelRequest{KernelMode::kOff, ""};
  if (auto family = CanonicalOpenBlasFamily(value)) return KernelRequest{KernelMode::kForce, *family};
  return absl::InvalidArgumentError(
      absl::StrCat("blas kernels '", value,
                   "': expected auto, best, off or an OpenBLAS core name (Prescott, Nehalem, Sandybridge, "
                   "Haswell, Zen, SkylakeX, Cooperlake, ...)"));
}

KernelDecision DecideKernels(const KernelRequest& request, const CpuFeatures& cpu, const BlasInfo& blas,
                             const std::optional<std::string>& user_coretype) {
  KernelDecision d;
  if (request.mode == KernelMode::kOff) {
    d.reason = "kernel choice disabled (off)";
    return d;
  }
  if (!blas.is_openblas()) {
    d.reason = absl::StrCat("BLAS is ", BlasKindName(blas.kind), ": no kernel family to choose");
    return d;
  }
  if (request.mode == KernelMode::kAuto && user_coretype) {
    d.reason = absl::StrCat("OPENBLAS_CORETYPE=", *user_coretype, " set by the user: kept");
    return d;
  }
  const std::string current = blas.corename;
  if (request.mode == KernelMode::kForce) {
    if (!CpuSupportsFamily(cpu, request.family)) {
      d.reason = absl::StrCat("requested family ", request.family, " needs more than this CPU offers (",
                              IsaLevelName(cpu.isa_level()), "): kept ", current);
      return d;
    }
    if (absl::AsciiStrToLower(current) == absl::AsciiStrToLower(request.family)) {
      d.reason = absl::StrCat("requested family ", request.family, " already in use");
      return d;
    }
    d.reexec = true;
    d.family = request.family;
    d.reason = absl::StrCat("requested family ", request.family, " instead of ", current);
    return d;
  }
  // auto (no user override) or best.
  const std::optional<std::string> best = BestOpenBlasFamily(cpu);
  if (!best) {
    d.reason = absl::StrCat("CPU offers no AVX: kept ", current);
    return d;
  }
  const std::optional<IsaLevel> level = OpenBlasFamilyLevel(current);
  if (!level) {
    d.reason = absl::StrCat("library chose '", current, "', a family nmoe does not know: kept");
    return d;
  }
  if (static_cast<int>(*level) >= static_cast<int>(cpu.isa_level())) {
    d.reason = absl::StrCat(current, " already uses the CPU's best ISA (", IsaLevelName(cpu.isa_level()), ")");
    return d;
  }
  d.reexec = true;
  d.family = *best;
  d.reason = absl::StrCat("library chose ", current, " (", IsaLevelName(*level), ") on a CPU with ",
                          IsaLevelName(cpu.isa_level()), ": switching to ", *best);
  return d;
}

}  // namespace nmoe::compute
