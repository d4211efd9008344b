#include "common/spec_limits.h"

#include "absl/strings/str_cat.h"
#include "common/proto_walk.h"

namespace nmoe {

absl::Status CheckSpecLimits(const v1::JobSpec& spec) {
  const size_t bytes = spec.ByteSizeLong();
  if (bytes > kMaxSpecBytes) {
    return absl::InvalidArgumentError(absl::StrCat("spec: ", bytes, " bytes serialised, at most ", kMaxSpecBytes));
  }
  using google::protobuf::FieldDescriptor;
  return WalkFields(spec, "spec", [](const google::protobuf::Message& m, const FieldDescriptor& f,
                                     const std::string& field) {
    const google::protobuf::Reflection* r = m.GetReflection();
    auto too_long = [&](const std::string& where, size_t size) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", size, " bytes, at most ", kMaxSpecStringBytes));
    };
    if (!f.is_repeated()) {
      if (f.cpp_type() != FieldDescriptor::CPPTYPE_STRING) return absl::OkStatus();
      std::string scratch;
      const size_t size = r->GetStringReference(m, &f, &scratch).size();
      return size > kMaxSpecStringBytes ? too_long(field, size) : absl::OkStatus();
    }
    const int n = r->FieldSize(m, &f);
    if (n > kMaxSpecRepeated) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", n, " entries, at most ", kMaxSpecRepeated));
    }
    if (f.cpp_type() != FieldDescriptor::CPPTYPE_STRING) return absl::OkStatus();
    for (int i = 0; i < n; ++i) {
      std::string scratch;
      const size_t size = r->GetRepeatedStringReference(m, &f, i, &scratch).size();
      if (size > kMaxSpecStringBytes) return too_long(absl::StrCat(field, "[", i, "]"), size);
    }
    return absl::OkStatus();
  });
}

}  // namespace nmoe
