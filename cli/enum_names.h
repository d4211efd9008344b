// The one mapping between protobuf enum values and the short lower-case names
// nmoectl shows in tables and accepts in flags: "pending", "running",
// "profile", "neuron-guided", "layer-similarity", "ap", "lape", "q_proj", ...
//
// Rule: drop the type's UPPER_SNAKE prefix (JOB_STATE_, COMPONENT_, ...),
// lower-case the rest, and write '_' as '-', except for Component whose
// names keep '_' (q_proj, gate_proj: the module names of the model, also used
// by ProfileSummary.by_component). Parsing is case-insensitive, treats '-'
// and '_' alike and also accepts the full proto name (JOB_STATE_PENDING).
// JSON and YAML output keep the proto names (protobuf JSON mapping).
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace nmoe::cli {

// The short name of `value`; "unspecified" for 0; the number for a value
// this build does not know (a newer server).
std::string ShortEnumName(const google::protobuf::EnumDescriptor* type, int value);

// The value named `name`. INVALID_ARGUMENT (listing the valid names) for an
// unknown name and for "unspecified" (never a meaningful choice in a flag).
absl::StatusOr<int> ParseShortEnumName(const google::protobuf::EnumDescriptor* type,
                                       std::string_view name);

// "pending, scheduled, running, ..." (every value but the unspecified one).
std::string ShortEnumNameList(const google::protobuf::EnumDescriptor* type);

template <typename E>
std::string EnumName(E value) {
  return ShortEnumName(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

template <typename E>
absl::StatusOr<E> ParseEnum(std::string_view name) {
  absl::StatusOr<int> value = ParseShortEnumName(google::protobuf::GetEnumDescriptor<E>(), name);
  if (!value.ok()) return value.status();
  return static_cast<E>(*value);
}

}  // namespace nmoe::cli
