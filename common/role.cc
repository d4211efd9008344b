#include "common/role.h"

namespace nmoe {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kSubmitter:
      return "submitter";
    case Role::kViewer:
      return "viewer";
    case Role::kWorker:
      return "worker";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string RoleSet::ToString() const {
  std::string out;
  for (Role r : kAllRoles) {
    if (!Contains(r)) continue;
    if (!out.empty()) out += ", ";
    out += RoleName(r);
  }
  return out.empty() ? "none" : out;
}

}  // namespace nmoe
