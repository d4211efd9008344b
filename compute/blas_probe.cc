#include "compute/blas_probe.h"

#include <dlfcn.h>
#include <link.h>

#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nmoe::compute {
namespace {

// The object that defines the process's sgemm_ (the one every caller binds
// to), opened without loading anything new. Closing drops our reference only.
class SgemmLibrary {
 public:
  SgemmLibrary() {
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    Dl_info info{};
    if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) return;
    path_ = info.dli_fname;
    handle_ = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  }
  ~SgemmLibrary() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  SgemmLibrary(const SgemmLibrary&) = delete;
  SgemmLibrary& operator=(const SgemmLibrary&) = delete;

  bool found() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // dlsym on the handle searches the object and then its dependencies
  // (Debian's OpenBLAS libblas.so.3 is a thin wrapper over libopenblas.so.0).
  template <typename Fn>
  Fn Lookup(const char* name) const {
    if (handle_ == nullptr) return nullptr;
    return reinterpret_cast<Fn>(dlsym(handle_, name));
  }

 private:
  std::string path_;
  void* handle_ = nullptr;
};

int CollectLibrary(dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;
  const std::string name = absl::AsciiStrToLower(std::filesystem::path(info->dlpi_name).filename().string());
  for (const char* key : {"blas", "lapack", "mkl", "blis", "dnnl"}) {
    if (absl::StrContains(name, key)) {
      out->push_back(info->dlpi_name);
      break;
    }
  }
  return 0;
}

}  // namespace

const char* BlasKindName(BlasKind kind) {
  switch (kind) {
    case BlasKind::kNone: return "none";
    case BlasKind::kReference: return "reference BLAS";
    case BlasKind::kOpenBlas: return "OpenBLAS";
    case BlasKind::kMkl: return "MKL";
    case BlasKind::kBlis: return "BLIS";
  }
  return "?";
}

BlasInfo ProbeBlas() {
  BlasInfo blas;
  dl_iterate_phdr(CollectLibrary, &blas.loaded_libraries);
  SgemmLibrary lib;
  if (!lib.found()) return blas;
  blas.sgemm_library = lib.path();
  std::error_code ec;
  const auto canonical = std::filesystem::canonical(lib.path(), ec);
  blas.resolved_path = ec ? lib.path() : canonical.string();

  using CharFn = char* (*)();
  using IntFn = int (*)();
  if (auto config = lib.Lookup<CharFn>("openblas_get_config")) {
    blas.kind = BlasKind::kOpenBlas;
    blas.config = config();
    const std::vector<std::string> words = absl::StrSplit(blas.config, ' ', absl::SkipEmpty());
    if (words.size() >= 2 && words[0] == "OpenBLAS") blas.version = words[1];
    if (auto corename = lib.Lookup<CharFn>("openblas_get_corename")) blas.corename = corename();
    if (auto threads = lib.Lookup<IntFn>("openblas_get_num_threads")) blas.threads = threads();
  } else if (auto mkl = lib.Lookup<void (*)(char*, int)>("mkl_get_version_string")) {
    blas.kind = BlasKind::kMkl;
    char buf[256] = {};
    mkl(buf, sizeof(buf) - 1);
    blas.config = buf;
    if (auto threads = lib.Lookup<IntFn>("mkl_get_max_threads")) blas.threads = threads();
  } else if (auto blis = lib.Lookup<const char* (*)()>("bli_info_get_version_str")) {
    blas.kind = BlasKind::kBlis;
    blas.version = blis();
    blas.config = absl::StrCat("BLIS ", blas.version);
  } else {
    blas.kind = BlasKind::kReference;
  }
  return blas;
}

bool SetBlasThreads(int threads) {
  SgemmLibrary lib;
  auto set = lib.Lookup<void (*)(int)>("openblas_set_num_threads");
  if (set == nullptr || lib.Lookup<char* (*)()>("openblas_get_config") == nullptr) return false;
  set(threads);
  return true;
}

std::string DescribeBlas(const BlasInfo& blas) {
  if (blas.kind == BlasKind::kNone) return "no BLAS loaded";
  std::string out = BlasKindName(blas.kind);
  if (!blas.version.empty()) absl::StrAppend(&out, " ", blas.version);
  if (!blas.corename.empty()) absl::StrAppend(&out, ", kernels ", blas.corename);
  if (blas.threads > 0) absl::StrAppend(&out, ", ", blas.threads, " threads");
  absl::StrAppend(&out, " (", blas.resolved_path, ")");
  return out;
}

}  // namespace nmoe::compute
