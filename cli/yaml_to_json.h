// YAML documents to the protobuf JSON mapping, guided by a message type, so
// that YAML's untyped scalars become the JSON type each field needs: a
// string field keeps `name: 2024` as the string "2024", an integer field
// rejects `top_n: many` with the line and column of the value.
#pragma once

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace nmoe::cli {

// Converts `node` (a YAML mapping) to JSON that
// google::protobuf::util::JsonStringToMessage accepts for `type`.
//  - Keys are proto field names (top_n) or their JSON names (topN); the
//    output always uses the proto name.
//  - Strings and bytes: any scalar, as written. Bools: true/false.
//    Integers: decimal integers. Floats: numbers, .inf, -.inf, .nan.
//    Enums: the proto value name (DEVICE_KIND_CPU) or its number, passed on
//    for the protobuf parser to check.
//  - Repeated fields take sequences, map fields take mappings, message
//    fields take mappings; a null value (`key:` alone) leaves the field unset.
//  - google.protobuf.* messages (Timestamp, Struct, ...) are converted
//    without a schema (plain YAML typing).
// Errors are INVALID_ARGUMENT "line L, column C: <field path>: <problem>",
// e.g. "line 7, column 5: profile.top_nn: unknown field of nmoe.v1.ProfileSpec",
// for unknown and duplicate fields, two members of one oneof, and values of
// the wrong shape or type.
absl::StatusOr<nlohmann::json> YamlToProtoJson(const YAML::Node& node,
                                               const google::protobuf::Descriptor* type);

}  // namespace nmoe::cli
