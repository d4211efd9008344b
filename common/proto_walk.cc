#include "common/proto_walk.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace nmoe {

using google::protobuf::FieldDescriptor;

absl::Status WalkFields(const google::protobuf::Message& message, const std::string& prefix,
                        const FieldVisitor& visit) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string path = absl::StrCat(prefix, ".", field->name());
    if (absl::Status s = visit(message, *field, path); !s.ok()) return s;
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!field->is_repeated()) {
      if (absl::Status s = WalkFields(reflection->GetMessage(message, field), path, visit); !s.ok()) return s;
      continue;
    }
    const int n = reflection->FieldSize(message, field);
    for (int i = 0; i < n; ++i) {
      const absl::Status s =
          WalkFields(reflection->GetRepeatedMessage(message, field, i), absl::StrCat(path, "[", i, "]"), visit);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace nmoe
