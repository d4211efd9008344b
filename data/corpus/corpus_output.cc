#include "data/corpus/corpus_output.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/hash.h"

namespace nmoe::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void Progress(const FetchCorpusOptions& o, std::string_view message) {
  if (o.progress) o.progress(message);
}

// Writes `content` to `path` through a temporary file and a rename.
absl::Status WriteFileAtomic(const fs::path& path, std::string_view content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", path.parent_path().string(), ": ", ec.message()));
  fs::path tmp = path;
  tmp += absl::StrCat(".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  return absl::OkStatus();
}

bool FilesIntact(const fs::path& out_dir, const std::string& code, const json& entry) {
  if (!entry.is_object() || !entry.contains("splits") || !entry["splits"].is_object()) return false;
  std::error_code ec;
  for (const auto& [split, info] : entry["splits"].items()) {
    if (!info.contains("bytes") || !info["bytes"].is_number_unsigned()) return false;
    uint64_t size = fs::file_size(out_dir / code / (split + ".txt"), ec);
    if (ec || size != info["bytes"].get<uint64_t>()) return false;
  }
  return true;
}

absl::StatusOr<json> BuildLanguage(const FetchCorpusOptions& options, const CorpusLanguage& lang,
                                   const std::vector<HelpPage>& pages, const std::vector<HelpPage>* english) {
  CleanOptions clean;
  clean.min_word_units = options.min_word_units;
  clean.sample_bytes = options.sample_bytes;
  CleanCorpus corpus = CleanLanguage(pages, english, clean);
  json splits = json::object();
  uint64_t total_bytes = 0;
  for (Split s : {Split::kTrain, Split::kValidation, Split::kTest}) {
    const auto& lines = corpus.splits[static_cast<size_t>(s)];
    std::string content;
    for (const std::string& line : lines) absl::StrAppend(&content, line, "\n");
    NMOE_RETURN_IF_ERROR(
        WriteFileAtomic(fs::path(options.out_dir) / lang.code / absl::StrCat(SplitName(s), ".txt"), content));
    splits[SplitName(s)] = {{"lines", lines.size()}, {"bytes", content.size()}, {"sha256", Sha256Hex(content)}};
    total_bytes += content.size();
  }
  const CleanStats& st = corpus.stats;
  Progress(options, absl::StrCat(lang.code, ": ", st.pages_used, "/", st.pages, " pages, ", st.lines_extracted,
                                 " lines extracted, ", st.dropped_untranslated, " untranslated, ", st.dropped_short,
                                 " short, ", st.dropped_duplicate, " duplicate -> ", st.kept, " lines, ", total_bytes,
                                 " bytes"));
  return json{{"pages", st.pages},
              {"pages_used", st.pages_used},
              {"lines_extracted", st.lines_extracted},
              {"dropped_untranslated", st.dropped_untranslated},
              {"dropped_short", st.dropped_short},
              {"dropped_duplicate", st.dropped_duplicate},
              {"lines", st.kept},
              {"bytes", total_bytes},
              {"splits", splits}};
}

}  // namespace

CorpusPlan PlanCorpusOutput(const FetchCorpusOptions& options, const std::vector<CorpusLanguage>& requested,
                            const json& packages) {
  CorpusPlan plan;
  plan.settings = {{"extractor_version", kCorpusExtractorVersion},
                   {"min_word_units", options.min_word_units},
                   {"sample_bytes", options.sample_bytes},
                   {"split_percent", {90, 5, 5}},
                   {"reference_package", packages.value("en", json::object())}};
  const fs::path out_dir(options.out_dir);
  std::ifstream in(out_dir / "manifest.json");
  json old = in ? json::parse(in, nullptr, /*allow_exceptions=*/false) : json();
  if (old.is_object() && old.value("settings", json()) == plan.settings && old.contains("languages") &&
      old["languages"].is_object()) {
    for (const auto& [code, entry] : old["languages"].items()) {
      if (FilesIntact(out_dir, code, entry)) plan.kept[code] = entry;
    }
  }
  for (const CorpusLanguage& lang : requested) {
    const json wanted = packages.value(lang.code, json::object());
    if (options.force || !plan.kept.contains(lang.code) || plan.kept[lang.code].value("package", json()) != wanted) {
      plan.kept.erase(lang.code);
      plan.to_build.push_back(lang);
    } else {
      Progress(options, absl::StrCat(lang.code, ": up to date"));
    }
  }
  return plan;
}

absl::StatusOr<json> WriteCorpusOutput(const FetchCorpusOptions& options, const CorpusPlan& plan,
                                       const json& packages, const PageSource& source) {
  json languages = plan.kept;
  if (!plan.to_build.empty()) {
    Progress(options, "reading en-US pages (reference for untranslated lines)");
    NMOE_ASSIGN_OR_RETURN(std::vector<HelpPage> english, source(*LookupCorpusLanguage("en")));
    for (const CorpusLanguage& lang : plan.to_build) {
      std::vector<HelpPage> own;
      if (lang.code != "en") {
        NMOE_ASSIGN_OR_RETURN(own, source(lang));
      }
      const bool is_en = lang.code == "en";
      NMOE_ASSIGN_OR_RETURN(json entry, BuildLanguage(options, lang, is_en ? english : own, is_en ? nullptr : &english));
      entry["package"] = packages.value(lang.code, json::object());
      languages[lang.code] = std::move(entry);
    }
  }
  std::string content_index;
  json license_packages = json::object();
  license_packages["en"] = plan.settings["reference_package"];
  for (const auto& [code, entry] : languages.items()) {  // nlohmann orders keys
    license_packages[code] = entry.value("package", json::object());
    for (const char* split : {"train", "validation", "test"}) {
      absl::StrAppend(&content_index, code, "/", split, " ",
                      entry["splits"][split].value("sha256", std::string()), "\n");
    }
  }
  json manifest = {{"format", "nmoe-corpus/2"},
                   {"source", "LibreOffice help, Debian packages libreoffice-help-*"},
                   {"license", "MPL-2.0"},
                   {"settings", plan.settings},
                   {"languages", languages},
                   {"content_sha256", Sha256Hex(content_index)}};
  NMOE_RETURN_IF_ERROR(WriteFileAtomic(fs::path(options.out_dir) / "LICENSE", CorpusLicenseText(license_packages)));
  NMOE_RETURN_IF_ERROR(WriteFileAtomic(fs::path(options.out_dir) / "manifest.json", manifest.dump(2) + "\n"));
  return manifest;
}

}  // namespace nmoe::data
