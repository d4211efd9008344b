// Support for the parity tests against the JS reference tokenizer: the test
// corpus (committed sample or NMOE_CORPUS_DIR, plus tricky and generated
// lines) and running tests/tokenizer/reference.cjs under node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::tokenizer::testing {

struct CorpusLine {
  std::string text;
  std::string where;     // "el/test.txt:12"
  std::string language;  // "el" (the first folder, or the file's stem)
};

// Splits as reference.cjs does: at '\n'; no line after a final '\n'.
std::vector<std::string> SplitLines(const std::string& content);

// Every *.txt file under `dir` (recursively, sorted by path); at most
// `max_lines_per_file` lines of each (< 0: all).
absl::StatusOr<std::vector<CorpusLine>> LoadCorpusDir(const std::string& dir, int max_lines_per_file = -1);

// The corpus directory: $NMOE_CORPUS_DIR, else $NMOE_SOURCE_DIR/tests/data/corpus.
std::string CorpusDir();

// tests/tokenizer/testdata/tricky.txt and generated edge cases: control
// characters, Unicode whitespace, invalid UTF-8, seeded random bytes, very
// long runs, newer-Unicode letters.
absl::StatusOr<std::vector<CorpusLine>> TrickyLines();

// Writes the texts one a line ('\n' after each).
absl::Status WriteLines(const std::string& path, const std::vector<CorpusLine>& lines);

// The folder holding node_modules/ with the reference packages
// ($NMOE_NPM_CACHE, else $HOME/.cache/nmoe/npm); FAILED_PRECONDITION naming
// scripts/fetch-npm-refs.sh when it is missing.
absl::StatusOr<std::string> NpmDir();

// models/tokenizer.json of an @lenml package, e.g. "tokenizer-llama3".
std::string LenmlTokenizerPath(const std::string& npm_dir, const std::string& package);

struct ReferenceRun {
  std::vector<std::string> lines;  // one output line per input line
  double load_ms = 0;
  double run_ms = 0;
  int64_t bytes = 0;
};

// node reference.cjs <mode> ... on `input`; `flags` e.g. {"--add-special-tokens"}.
absl::StatusOr<ReferenceRun> RunReference(const std::string& mode, const std::string& tokenizer,
                                          const std::string& input, const std::vector<std::string>& flags = {});

std::vector<int32_t> ParseIds(const std::string& json_array);
std::string IdsToJson(const std::vector<int32_t>& ids);

}  // namespace nmoe::tokenizer::testing
