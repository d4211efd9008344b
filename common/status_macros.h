// Early-return helpers for absl::Status / absl::StatusOr.
#pragma once

#include "absl/status/status.h"

// Returns the status of `expr` from the current function when it is not OK.
#define NMOE_RETURN_IF_ERROR(expr)                          \
  do {                                                      \
    if (::absl::Status nmoe_s_ = (expr); !nmoe_s_.ok()) {   \
      return nmoe_s_;                                       \
    }                                                       \
  } while (0)

#define NMOE_CONCAT_INNER_(a, b) a##b
#define NMOE_CONCAT_(a, b) NMOE_CONCAT_INNER_(a, b)

// NMOE_ASSIGN_OR_RETURN(auto x, StatusOrExpr()): assigns the value or returns the error.
#define NMOE_ASSIGN_OR_RETURN(lhs, expr) \
  NMOE_ASSIGN_OR_RETURN_IMPL_(NMOE_CONCAT_(nmoe_so_, __LINE__), lhs, expr)
#define NMOE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(*tmp)
