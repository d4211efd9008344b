#include "data/corpus/apt_fetch.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "data/hash.h"
#include "data/subprocess.h"

namespace nmoe::data {

namespace fs = std::filesystem;

namespace {

// apt's "E:" / "W:" lines, or the whole stderr when there are none.
std::string AptErrors(const CommandResult& r) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(r.err, '\n')) {
    if (absl::StartsWith(line, "E:")) lines.emplace_back(line);
  }
  if (lines.empty()) return std::string(absl::StripAsciiWhitespace(r.err));
  return absl::StrJoin(lines, "; ");
}

// Version from a file name "name_4%3a7.4.7-1+deb12u14_all.deb".
std::string VersionFromFilename(const std::string& filename) {
  std::vector<std::string> parts = absl::StrSplit(filename, '_');
  if (parts.size() < 3) return "";
  return absl::StrReplaceAll(parts[1], {{"%3a", ":"}, {"%3A", ":"}});
}

}  // namespace

absl::StatusOr<std::vector<DebPackage>> ResolveDebPackages(const std::vector<std::string>& names) {
  std::vector<std::string> argv = {"apt-get", "download", "--print-uris"};
  argv.insert(argv.end(), names.begin(), names.end());
  auto run = RunCommand(argv);
  if (!run.ok()) {
    if (absl::IsNotFound(run.status())) {
      return absl::NotFoundError("apt-get is not installed (needed to fetch the corpus packages)");
    }
    return run.status();
  }
  if (run->exit_code != 0) {
    std::vector<std::string> missing;
    for (absl::string_view line : absl::StrSplit(run->err, '\n')) {
      if (absl::ConsumePrefix(&line, "E: Unable to locate package ")) missing.emplace_back(line);
    }
    if (!missing.empty()) {
      return absl::NotFoundError(absl::StrCat("package(s) not found in apt's package lists: ",
                                              absl::StrJoin(missing, ", "),
                                              " (is the archive in sources.list? run `apt-get update` as root)"));
    }
    return absl::InternalError(absl::StrCat("apt-get download --print-uris failed (exit ", run->exit_code,
                                            "): ", AptErrors(*run)));
  }
  std::vector<DebPackage> packages;
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipWhitespace())) {
    // 'URI' FILENAME SIZE SHA256:HEX
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t size = 0;
    if (f.size() < 4 || !absl::SimpleAtoi(f[2], &size) || !absl::StartsWith(f[3], "SHA256:")) {
      return absl::InternalError(absl::StrCat("unexpected apt-get --print-uris line: ", line));
    }
    DebPackage p;
    p.filename = f[1];
    p.name = p.filename.substr(0, p.filename.find('_'));
    p.version = VersionFromFilename(p.filename);
    p.size = size;
    p.sha256 = absl::AsciiStrToLower(f[3].substr(7));
    packages.push_back(std::move(p));
  }
  for (const std::string& name : names) {
    if (std::none_of(packages.begin(), packages.end(), [&](const DebPackage& p) { return p.name == name; })) {
      return absl::InternalError(absl::StrCat("apt-get --print-uris listed no file for ", name,
                                              " (is it installed with a version no longer in the archive?)"));
    }
  }
  return packages;
}

absl::StatusOr<DebPackage> FindCachedDeb(const std::string& name, const std::string& cache_dir) {
  std::vector<std::string> candidates;
  std::error_code ec;
  for (auto it = fs::directory_iterator(cache_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string file = it->path().filename().string();
    if (absl::StartsWith(file, name + "_") && absl::EndsWith(file, ".deb")) candidates.push_back(file);
  }
  if (candidates.empty()) {
    return absl::NotFoundError(absl::StrCat("no cached ", name, "_*.deb in ", cache_dir));
  }
  // The newest version (dpkg's ordering; file names do not sort by version:
  // "deb12u14" < "deb12u9" as text).
  std::string best = candidates.front();
  for (const std::string& c : candidates) {
    auto newer = RunCommand({"dpkg", "--compare-versions", VersionFromFilename(c), "gt", VersionFromFilename(best)});
    if (newer.ok() && newer->exit_code == 0) best = c;
  }
  DebPackage p;
  p.name = name;
  p.filename = best;
  std::string path = (fs::path(cache_dir) / p.filename).string();
  auto version = RunCommand({"dpkg-deb", "-f", path, "Version"});
  p.version = version.ok() && version->exit_code == 0 ? std::string(absl::StripAsciiWhitespace(version->out))
                                                      : VersionFromFilename(p.filename);
  p.size = fs::file_size(path, ec);
  auto sha = Sha256File(path);
  if (!sha.ok()) return sha.status();
  p.sha256 = *sha;
  return p;
}

bool IsCached(const DebPackage& package, const std::string& cache_dir) {
  std::string path = (fs::path(cache_dir) / package.filename).string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) != package.size) return false;
  auto sha = Sha256File(path);
  return sha.ok() && *sha == package.sha256;
}

absl::Status DownloadDebs(const std::vector<DebPackage>& packages, const std::string& cache_dir) {
  std::vector<std::string> argv = {"apt-get", "download"};
  for (const DebPackage& p : packages) {
    if (!IsCached(p, cache_dir)) argv.push_back(absl::StrCat(p.name, "=", p.version));
  }
  if (argv.size() > 2) {
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create cache folder ", cache_dir, ": ", ec.message()));
    auto run = RunCommand(argv, cache_dir);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      return absl::UnavailableError(absl::StrCat("apt-get download failed (exit ", run->exit_code,
                                                 ", network or archive unreachable?): ", AptErrors(*run)));
    }
  }
  for (const DebPackage& p : packages) {
    if (!IsCached(p, cache_dir)) {
      return absl::DataLossError(absl::StrCat((fs::path(cache_dir) / p.filename).string(),
                                              ": missing or size/SHA-256 differs from apt's index (expected ",
                                              p.size, " bytes, sha256 ", p.sha256, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadDebFilesystemTar(const std::string& deb_path) {
  auto run = RunCommand({"dpkg-deb", "--fsys-tarfile", deb_path});
  if (!run.ok()) {
    if (absl::IsNotFound(run.status())) return absl::NotFoundError("dpkg-deb is not installed");
    return run.status();
  }
  if (run->exit_code != 0) {
    return absl::DataLossError(absl::StrCat("dpkg-deb --fsys-tarfile ", deb_path, " failed (exit ", run->exit_code,
                                            "): ", absl::StripAsciiWhitespace(run->err)));
  }
  return std::move(run->out);
}

}  // namespace nmoe::data
