// Getting Debian packages without root: `apt-get download` into a cache folder and
// `dpkg-deb --fsys-tarfile` to read their files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::data {

struct DebPackage {
  std::string name;      // e.g. "libreoffice-help-el"
  std::string version;   // e.g. "4:7.4.7-1+deb12u14"
  std::string filename;  // the .deb's file name in the cache, as apt-get download names it
  uint64_t size = 0;
  std::string sha256;    // lowercase hex
};

// Asks apt which .deb `apt-get download` would fetch for each package (one
// `apt-get download --print-uris` call; reads apt's local package lists, no network).
// Errors: NOT_FOUND when apt-get is not installed or a package is unknown to apt's
// lists (the message names the packages and suggests `apt-get update`), INTERNAL for
// output that cannot be parsed.
absl::StatusOr<std::vector<DebPackage>> ResolveDebPackages(const std::vector<std::string>& names);

// Fallback without apt-get: the newest `<name>_*.deb` already in `cache_dir` (version
// read with dpkg-deb). NOT_FOUND when there is none.
absl::StatusOr<DebPackage> FindCachedDeb(const std::string& name, const std::string& cache_dir);

// True when cache_dir/filename exists with the expected size and SHA-256.
bool IsCached(const DebPackage& package, const std::string& cache_dir);

// Downloads the packages that are not cached yet into `cache_dir` (one apt-get call),
// then checks size and SHA-256 of every file. Errors: UNAVAILABLE when apt-get cannot
// fetch (network), DATA_LOSS on a size/hash mismatch, with apt's own error lines.
absl::Status DownloadDebs(const std::vector<DebPackage>& packages, const std::string& cache_dir);

// The .deb's file system as an uncompressed tar archive in memory
// (`dpkg-deb --fsys-tarfile`): no unpacking to disk, which on a busy disk costs more
// than all the parsing. Read it with ForEachTarFile (tar_reader.h).
absl::StatusOr<std::string> ReadDebFilesystemTar(const std::string& deb_path);

}  // namespace nmoe::data
