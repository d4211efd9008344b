// The fetch-corpus output folder and its manifest, with per-language reuse.
//
// manifest.json:
//   "settings":  extractor version, min_word_units, sample_bytes, split percentages
//                and the English reference package: what every language depends on
//   "languages": per language: its package {package, version, sha256}, counts per
//                cleaning rule, and per split {lines, bytes, sha256}
//   "content_sha256": SHA-256 over "<lang>/<split> <sha256>\n" of every file, in
//                language-code order
// A language is reused when the existing manifest has the same settings, records the
// same package SHA-256 for it and its files have the recorded sizes. Languages
// already in the folder and not requested stay in the manifest (a subset fetch into
// the default folder does not drop the others); a change of settings rebuilds all.
#pragma once

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "data/corpus/corpus_builder.h"
#include "data/corpus/fetch_corpus.h"
#include "nlohmann/json.hpp"

namespace nmoe::data {

using PageSource = std::function<absl::StatusOr<std::vector<HelpPage>>(const CorpusLanguage&)>;

struct CorpusPlan {
  nlohmann::json settings;
  nlohmann::json kept = nlohmann::json::object();  // manifest entries that stay
  std::vector<CorpusLanguage> to_build;
};

// `packages`: code -> {"package", "version", "sha256"} for every requested language
// and for "en". With options.force every requested language is rebuilt.
CorpusPlan PlanCorpusOutput(const FetchCorpusOptions& options, const std::vector<CorpusLanguage>& requested,
                            const nlohmann::json& packages);

// Builds plan.to_build (pages from `source`; English is read first as the reference),
// then writes the files, LICENSE and manifest.json (last). Returns the manifest.
absl::StatusOr<nlohmann::json> WriteCorpusOutput(const FetchCorpusOptions& options, const CorpusPlan& plan,
                                                 const nlohmann::json& packages, const PageSource& source);

}  // namespace nmoe::data
