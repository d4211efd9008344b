// A depth-first walk over the set fields of a protobuf message, for checks
// that apply to every field of a kind (common/data_roots.h, common/spec_limits.h).
#pragma once

#include <functional>
#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"

namespace nmoe {

// Calls `visit(message, field, path)` for every set field of `message` and,
// depth first, of its sub-messages (repeated ones and map entries included),
// `path` being `prefix` + ".name" (+ "[i]" inside repeated sub-messages).
// Stops at and returns the first non-OK status.
using FieldVisitor = std::function<absl::Status(const google::protobuf::Message& message,
                                                const google::protobuf::FieldDescriptor& field,
                                                const std::string& path)>;
absl::Status WalkFields(const google::protobuf::Message& message, const std::string& prefix,
                        const FieldVisitor& visit);

}  // namespace nmoe
