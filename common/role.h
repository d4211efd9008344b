// The roles a bearer token carries (docs/security.md). Which RPC each role may
// call is decided in one table: coordinator/rpc_roles.cc.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace nmoe {

enum class Role : uint8_t {
  kAdmin = 0,      // everything
  kSubmitter = 1,  // submit, cancel and read jobs and results
  kViewer = 2,     // read jobs, workers and results only
  kWorker = 3,     // the worker protocol: register, lease, report, results, rendezvous
};

inline constexpr Role kAllRoles[] = {Role::kAdmin, Role::kSubmitter, Role::kViewer, Role::kWorker};

// "admin", "submitter", "viewer", "worker".
std::string_view RoleName(Role role);
// The role of one of those names (exact, lower case); nullopt otherwise.
std::optional<Role> ParseRole(std::string_view name);

// A set of roles as a bit mask (bit i = Role i).
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool Contains(Role role) const { return (bits_ & Bit(role)) != 0; }
  constexpr bool operator==(const RoleSet& other) const { return bits_ == other.bits_; }
  // "admin, submitter" in Role order; "none" when empty.
  std::string ToString() const;

 private:
  static constexpr uint8_t Bit(Role role) { return static_cast<uint8_t>(1u << static_cast<unsigned>(role)); }
  uint8_t bits_ = 0;
};

}  // namespace nmoe
