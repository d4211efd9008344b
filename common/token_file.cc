#include "common/token_file.h"

#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nmoe {
namespace {

bool IsTokenText(const std::string& text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isspace(u) || !absl::ascii_isprint(u)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<TokenEntry>> ReadTokenEntries(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open token file ", path));
  std::vector<TokenEntry> entries;
  std::map<std::string, Role> role_of;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string text(absl::StripAsciiWhitespace(line));
    if (text.empty() || text[0] == '#') continue;
    const auto where = [&] { return absl::StrCat("token file ", path, " line ", line_no, ": "); };
    // Splitting on spaces and tabs only: other control characters stay in a
    // field and are rejected below.
    std::vector<std::string> fields = absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "expected '<token>' or '<role> <token>' (a token may not contain whitespace)"));
    }
    TokenEntry entry;
    if (fields.size() == 2) {
      std::optional<Role> role = ParseRole(fields[0]);
      // The unknown word is not echoed: it may be a token written by mistake.
      if (!role)
        return absl::InvalidArgumentError(absl::StrCat(where(), "unknown role (admin, submitter, viewer, worker)"));
      entry.role = *role;
      entry.role_given = true;
    }
    entry.token = std::move(fields.back());
    if (!IsTokenText(entry.token)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "a token may not contain whitespace or control characters"));
    }
    auto [it, inserted] = role_of.emplace(entry.token, entry.role);
    if (!inserted && it->second != entry.role) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "this token already appears with another role"));
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) return absl::InvalidArgumentError(absl::StrCat("token file ", path, " holds no token"));
  return entries;
}

absl::StatusOr<std::vector<std::string>> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::vector<TokenEntry>> entries = ReadTokenEntries(path);
  if (!entries.ok()) return entries.status();
  std::vector<std::string> tokens;
  for (TokenEntry& e : *entries) tokens.push_back(std::move(e.token));
  return tokens;
}

const TokenEntry& PickToken(const std::vector<TokenEntry>& entries, std::optional<Role> preferred) {
  if (preferred) {
    for (const TokenEntry& e : entries) {
      if (e.role_given && e.role == *preferred) return e;
    }
  }
  return entries.front();
}

}  // namespace nmoe
