// The `nmoe-data fetch-corpus` pipeline: LibreOffice help packages -> clean, split text.
//
// Output layout (docs/data.md):
//   OUT/<lang>/{train,validation,test}.txt   one paragraph per line, UTF-8, '\n' ended
//   OUT/manifest.json                        settings, packages, counts, SHA-256s
//   OUT/LICENSE                              MPL-2.0 notice of the source text
// The manifest is written last and decides reuse, per language (corpus_output.h): a
// second run with the same packages and options only checks and returns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace nmoe::data {

// Bumped whenever extraction or cleaning rules change (forces a rebuild).
inline constexpr int kCorpusExtractorVersion = 1;

struct CorpusLanguage {
  std::string code;       // nmoe language code: "en", "zh", ...
  std::string package;    // Debian package: "libreoffice-help-en-us"
  std::string help_dir;   // folder under usr/share/libreoffice/help: "en-US"
};

// The 11 languages of the corpus, in the order en es zh de fr ru ja fi el hu tr.
const std::vector<CorpusLanguage>& CorpusLanguages();
// NOT_FOUND for an unknown code (the message lists the known ones).
absl::StatusOr<CorpusLanguage> LookupCorpusLanguage(std::string_view code);

// $NMOE_CACHE_DIR, else $HOME/.cache/nmoe, else ./.nmoe-cache.
std::string DefaultCacheRoot();
// DefaultCacheRoot()/corpus/libreoffice-help.
std::string DefaultCorpusDir();

struct FetchCorpusOptions {
  std::string out_dir;                 // required
  std::string cache_dir;               // .deb cache; empty: DefaultCacheRoot()/debs
  std::vector<std::string> languages;  // empty: all 11
  uint64_t sample_bytes = 0;           // per language; 0: the full corpus
  int min_word_units = 5;
  bool force = false;                  // rebuild even when the manifest matches
  std::function<void(std::string_view)> progress;  // one line per step; may be empty
};

struct FetchCorpusResult {
  bool reused = false;      // the existing output matched; nothing was rebuilt
  nlohmann::json manifest;  // the manifest on disk
};

absl::StatusOr<FetchCorpusResult> FetchCorpus(const FetchCorpusOptions& options);

// Builds the output from already-unpacked help folders (no apt, no dpkg), rebuilding
// every requested language: `help_root` holds one folder per CorpusLanguage::help_dir
// (en-US always needed for the untranslated-line rule). `packages` (code -> package
// object) goes into the manifest as is. For tests on committed fixture pages.
absl::StatusOr<nlohmann::json> BuildCorpusFromHelpRoot(const std::string& help_root,
                                                       const FetchCorpusOptions& options,
                                                       const nlohmann::json& packages);

// The MPL-2.0 notice written to OUT/LICENSE, naming the packages and versions.
std::string CorpusLicenseText(const nlohmann::json& packages);

}  // namespace nmoe::data
