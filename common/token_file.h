// Bearer tokens in files (docs/security.md). One entry a line:
//   <token>          a bare token: role admin (files written before roles)
//   <role> <token>   role is admin, submitter, viewer or worker
// Fields are separated by whitespace; blank lines and lines starting with '#'
// are ignored; surrounding whitespace is trimmed. A token is printable ASCII
// without whitespace. Error messages name the file and line, never a token.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/role.h"

namespace nmoe {

struct TokenEntry {
  std::string token;
  Role role = Role::kAdmin;
  bool role_given = false;  // false for a bare-token line
};

// Reads every entry of the file in order. NOT_FOUND when the file cannot be
// opened; INVALID_ARGUMENT when it holds no token, a line has more than two
// fields, an unknown role, a token with control characters, or one token
// twice with different roles.
absl::StatusOr<std::vector<TokenEntry>> ReadTokenEntries(const std::string& path);

// The tokens of ReadTokenEntries, in order.
absl::StatusOr<std::vector<std::string>> ReadTokenFile(const std::string& path);

// The token a client presents from a file's entries: the first entry of role
// `preferred` when given and present, else the first entry. `entries` must not
// be empty (ReadTokenEntries never returns an empty list).
const TokenEntry& PickToken(const std::vector<TokenEntry>& entries, std::optional<Role> preferred);

}  // namespace nmoe
