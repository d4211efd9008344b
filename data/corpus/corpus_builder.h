// Cleaning and splitting of extracted help pages into the per-language corpus files.
//
// Per language, pages are visited in a fixed order (ascending Fnv1a64(page path), then
// path), the same in every language, and each extracted line goes through, in order:
//   1. untranslated: the line equals a line of the English page with the same path
//      -> dropped (never applied to English itself);
//   2. short: WordUnits(line) < min_word_units -> dropped;
//   3. duplicate: the line was already kept (anywhere in this language) -> dropped;
// and is otherwise appended to the split of its page (SplitOfPage). With a byte budget
// (sample mode), whole pages are taken in that order until the kept bytes (with
// newlines) reach the budget, so a sample is a prefix of the full corpus and its lines
// are a subset of the full corpus's lines, in the same splits.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/corpus/text_rules.h"

namespace nmoe::data {

struct HelpPage {
  std::string path;  // relative to the language's help folder, e.g. "text/swriter/main0110.html"
  std::vector<std::string> lines;
};

// Reads and extracts every *.html page under <help_lang_dir>/text/. Errors:
// NOT_FOUND (no text/ folder), INVALID_ARGUMENT naming the page that failed.
absl::StatusOr<std::vector<HelpPage>> ReadHelpTree(const std::string& help_lang_dir);

// Extracts the pages of one language from a package's file-system tar (see
// ReadDebFilesystemTar): members usr/share/libreoffice/help/<help_dir>/text/**.html.
// NOT_FOUND when the archive holds no such page.
absl::StatusOr<std::vector<HelpPage>> ReadHelpPagesFromTar(std::string_view tar, const std::string& help_dir);

struct CleanOptions {
  int min_word_units = 5;     // see WordUnits()
  uint64_t sample_bytes = 0;  // 0: everything; else stop after this many kept bytes
};

struct CleanStats {
  uint64_t pages = 0;          // pages in the package
  uint64_t pages_used = 0;     // pages visited (fewer than `pages` in sample mode)
  uint64_t lines_extracted = 0;
  uint64_t dropped_untranslated = 0;
  uint64_t dropped_short = 0;
  uint64_t dropped_duplicate = 0;
  uint64_t kept = 0;
};

struct CleanCorpus {
  std::array<std::vector<std::string>, 3> splits;  // indexed by Split
  CleanStats stats;
};

// Applies the rules above. `english` is null for English itself.
CleanCorpus CleanLanguage(const std::vector<HelpPage>& pages, const std::vector<HelpPage>* english,
                          const CleanOptions& options);

}  // namespace nmoe::data
