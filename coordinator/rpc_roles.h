// Which roles may call which RPC: the one table of the coordinator's
// authorization (docs/security.md). Methods are named by their protobuf full
// name, e.g. "nmoe.v1.JobService.SubmitJob". tests/coordinator/rpc_roles_test
// checks that every method of every service in proto/nmoe/v1 has an entry, so
// a new RPC cannot be added without deciding who may call it.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/role.h"

namespace nmoe::coordinator {

// Every (method full name, allowed roles) pair, in proto order.
const std::vector<std::pair<std::string_view, RoleSet>>& RpcRoleTable();

// The roles allowed to call `method`; nullopt for a method not in the table
// (callers deny it: authorization fails closed).
std::optional<RoleSet> RolesAllowed(std::string_view method);

}  // namespace nmoe::coordinator
