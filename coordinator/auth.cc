#include "coordinator/auth.h"

#include "absl/strings/str_cat.h"
#include "coordinator/rpc_roles.h"

namespace nmoe::coordinator {
namespace {

// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<Role> Authenticator::Authenticate(const grpc::ServerContextBase& context) const {
  if (!enabled()) return Role::kAdmin;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing bearer token (metadata 'authorization: Bearer <token>')");
  }
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size() || value.substr(0, kScheme.size()) != kScheme) {
    return absl::UnauthenticatedError("authorization metadata is not of the form 'Bearer <token>'");
  }
  const std::string_view presented = value.substr(kScheme.size());
  // Every entry is compared, so the time does not tell which one matched.
  const TokenEntry* match = nullptr;
  for (const auto& entry : tokens_) {
    if (ConstantTimeEquals(presented, entry.token) && match == nullptr) match = &entry;
  }
  if (match == nullptr) return absl::UnauthenticatedError("invalid bearer token");
  return match->role;
}

absl::Status Authenticator::Authorize(const grpc::ServerContextBase& context, std::string_view method) const {
  const std::optional<RoleSet> allowed = RolesAllowed(method);
  if (!allowed) {
    return absl::PermissionDeniedError(
        absl::StrCat("method ", std::string(method), " has no entry in the role table (coordinator/rpc_roles.cc)"));
  }
  absl::StatusOr<Role> role = Authenticate(context);
  if (!role.ok()) return role.status();
  if (!allowed->Contains(*role)) {
    return absl::PermissionDeniedError(absl::StrCat("role '", std::string(RoleName(*role)), "' may not call ",
                                                    std::string(method), " (allowed: ", allowed->ToString(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace nmoe::coordinator
