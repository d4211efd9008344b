#include "data/corpus/fetch_corpus.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "data/corpus/apt_fetch.h"
#include "data/corpus/corpus_builder.h"
#include "data/corpus/corpus_output.h"
#include "data/hash.h"
#include "data/subprocess.h"

namespace nmoe::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void Progress(const FetchCorpusOptions& o, std::string_view message) {
  if (o.progress) o.progress(message);
}

absl::StatusOr<std::vector<CorpusLanguage>> RequestedLanguages(const FetchCorpusOptions& o) {
  for (const std::string& code : o.languages) NMOE_RETURN_IF_ERROR(LookupCorpusLanguage(code).status());
  std::vector<CorpusLanguage> out;
  for (const CorpusLanguage& lang : CorpusLanguages()) {
    bool wanted = o.languages.empty() ||
                  std::find(o.languages.begin(), o.languages.end(), lang.code) != o.languages.end();
    if (wanted) out.push_back(lang);
  }
  return out;
}

absl::StatusOr<json> ReadManifest(const fs::path& out_dir) {
  std::ifstream in(out_dir / "manifest.json");
  json m = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!in || m.is_discarded()) return absl::InternalError(absl::StrCat("cannot read ", out_dir.string(), "/manifest.json"));
  return m;
}

}  // namespace

const std::vector<CorpusLanguage>& CorpusLanguages() {
  static const auto* kLanguages = new std::vector<CorpusLanguage>{
      {"en", "libreoffice-help-en-us", "en-US"}, {"es", "libreoffice-help-es", "es"},
      {"zh", "libreoffice-help-zh-cn", "zh-CN"}, {"de", "libreoffice-help-de", "de"},
      {"fr", "libreoffice-help-fr", "fr"},       {"ru", "libreoffice-help-ru", "ru"},
      {"ja", "libreoffice-help-ja", "ja"},       {"fi", "libreoffice-help-fi", "fi"},
      {"el", "libreoffice-help-el", "el"},       {"hu", "libreoffice-help-hu", "hu"},
      {"tr", "libreoffice-help-tr", "tr"}};
  return *kLanguages;
}

absl::StatusOr<CorpusLanguage> LookupCorpusLanguage(std::string_view code) {
  std::vector<std::string> known;
  for (const CorpusLanguage& l : CorpusLanguages()) {
    if (l.code == code) return l;
    known.push_back(l.code);
  }
  return absl::NotFoundError(absl::StrCat("unknown corpus language '", std::string(code), "' (known: ",
                                          absl::StrJoin(known, ","), ")"));
}

std::string DefaultCacheRoot() {
  if (const char* dir = std::getenv("NMOE_CACHE_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (fs::path(home) / ".cache" / "nmoe").string();
  }
  return ".nmoe-cache";
}

std::string DefaultCorpusDir() { return (fs::path(DefaultCacheRoot()) / "corpus" / "libreoffice-help").string(); }

std::string CorpusLicenseText(const json& packages) {
  std::string text =
      "Text extracted from the LibreOffice help (https://help.libreoffice.org/), as packaged by Debian.\n"
      "Copyright 2000, 2010 Oracle and/or its affiliates; (c) 2000, 2010 LibreOffice contributors and/or\n"
      "their affiliates. Licensed under the Mozilla Public License, v. 2.0 (MPL-2.0): you can obtain a\n"
      "copy at https://mozilla.org/MPL/2.0/ (on Debian: /usr/share/common-licenses/MPL-2.0). Some of the\n"
      "upstream files incorporate work licensed to the Apache Software Foundation under the Apache\n"
      "License 2.0 (https://www.apache.org/licenses/LICENSE-2.0).\n"
      "\n"
      "The text was extracted, cleaned and split by `nmoe-data fetch-corpus` (docs/data.md); it is\n"
      "a modified form of the help pages. Source packages (Debian bookworm):\n";
  for (const auto& [code, p] : packages.items()) {
    absl::StrAppend(&text, "  ", p.value("package", std::string()), " ", p.value("version", std::string()),
                    " (sha256 ", p.value("sha256", std::string()), ")\n");
  }
  return text;
}

absl::StatusOr<json> BuildCorpusFromHelpRoot(const std::string& help_root, const FetchCorpusOptions& options,
                                             const json& packages) {
  NMOE_ASSIGN_OR_RETURN(std::vector<CorpusLanguage> langs, RequestedLanguages(options));
  FetchCorpusOptions all = options;
  all.force = true;
  CorpusPlan plan = PlanCorpusOutput(all, langs, packages);
  return WriteCorpusOutput(options, plan, packages, [&](const CorpusLanguage& lang) {
    return ReadHelpTree((fs::path(help_root) / lang.help_dir).string());
  });
}

absl::StatusOr<FetchCorpusResult> FetchCorpus(const FetchCorpusOptions& options_in) {
  FetchCorpusOptions options = options_in;
  if (options.out_dir.empty()) return absl::InvalidArgumentError("fetch-corpus: no output folder given");
  if (options.cache_dir.empty()) options.cache_dir = (fs::path(DefaultCacheRoot()) / "debs").string();
  if (options.min_word_units < 1) return absl::InvalidArgumentError("min_word_units must be >= 1");
  NMOE_ASSIGN_OR_RETURN(std::vector<CorpusLanguage> langs, RequestedLanguages(options));

  std::vector<CorpusLanguage> needed = langs;  // English is always needed
  if (std::none_of(needed.begin(), needed.end(), [](const CorpusLanguage& l) { return l.code == "en"; })) {
    needed.insert(needed.begin(), *LookupCorpusLanguage("en"));
  }
  std::vector<std::string> names;
  for (const CorpusLanguage& l : needed) names.push_back(l.package);
  Progress(options, absl::StrCat("resolving ", names.size(), " packages with apt-get --print-uris"));
  std::vector<DebPackage> debs;
  const bool have_apt = FindProgram("apt-get").ok();
  if (have_apt) {
    NMOE_ASSIGN_OR_RETURN(debs, ResolveDebPackages(names));
  } else {  // offline fallback: packages already in the cache
    for (const std::string& name : names) {
      auto cached = FindCachedDeb(name, options.cache_dir);
      if (!cached.ok()) {
        return absl::NotFoundError(
            absl::StrCat("apt-get is not installed (needed to fetch the corpus packages), and ", cached.status().message()));
      }
      debs.push_back(std::move(*cached));
    }
    Progress(options, "apt-get not found: using the .deb files already in the cache");
  }
  json packages = json::object();
  for (const CorpusLanguage& l : needed) {
    for (const DebPackage& d : debs) {
      if (d.name == l.package) packages[l.code] = {{"package", d.name}, {"version", d.version}, {"sha256", d.sha256}};
    }
  }

  // One writer per output folder: a second process waits, then finds the result.
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  const std::string lock_path = (fs::path(options.out_dir) / ".lock").string();
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", lock_path, ": ", std::strerror(errno)));
  absl::Cleanup unlock = [lock_fd] { close(lock_fd); };  // closing releases the flock
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    Progress(options, absl::StrCat("waiting for another fetch-corpus writing ", options.out_dir));
    if (flock(lock_fd, LOCK_EX) != 0) return absl::InternalError(absl::StrCat("flock ", lock_path, ": ", std::strerror(errno)));
  }

  FetchCorpusResult result;
  CorpusPlan plan = PlanCorpusOutput(options, langs, packages);
  if (plan.to_build.empty()) {
    Progress(options, absl::StrCat(options.out_dir, " is up to date (manifest matches the packages)"));
    result.reused = true;
    NMOE_ASSIGN_OR_RETURN(result.manifest, ReadManifest(options.out_dir));
    return result;
  }
  if (have_apt) {
    std::vector<DebPackage> wanted;
    for (const DebPackage& d : debs) {
      bool needed = d.name == LookupCorpusLanguage("en")->package;
      for (const CorpusLanguage& l : plan.to_build) needed |= d.name == l.package;
      if (needed) wanted.push_back(d);
    }
    Progress(options, absl::StrCat("downloading missing packages into ", options.cache_dir));
    NMOE_RETURN_IF_ERROR(DownloadDebs(wanted, options.cache_dir));
  }
  auto source = [&](const CorpusLanguage& lang) -> absl::StatusOr<std::vector<HelpPage>> {
    for (const DebPackage& d : debs) {
      if (d.name != lang.package) continue;
      Progress(options, absl::StrCat("reading ", d.filename));
      NMOE_ASSIGN_OR_RETURN(std::string tar, ReadDebFilesystemTar((fs::path(options.cache_dir) / d.filename).string()));
      auto pages = ReadHelpPagesFromTar(tar, lang.help_dir);
      if (!pages.ok()) return absl::Status(pages.status().code(), absl::StrCat(d.filename, ": ", pages.status().message()));
      return pages;
    }
    return absl::InternalError(absl::StrCat("no package resolved for ", lang.code));
  };
  NMOE_ASSIGN_OR_RETURN(json manifest, WriteCorpusOutput(options, plan, packages, source));
  result.manifest = std::move(manifest);
  return result;
}

}  // namespace nmoe::data
