// Fuzzes job specs as the coordinator receives them: bytes -> v1::JobSpec
// (first input byte even) or v1::SubmitJobRequest (odd) by ParseFromArray, then
// the coordinator's validation (common/job_validation.h, what
// ControlPlane::SubmitJob runs first). Contract checked: validation answers OK
// or INVALID_ARGUMENT; a valid spec survives the way nmoectl shows and reads
// specs: proto JSON -> YAML (`-o yaml`, cli/json_to_yaml.h) -> ParseJobSpec,
// and proto JSON -> ParseJobSpec, both giving the same spec back (unknown
// fields aside).
#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "cli/job_file.h"
#include "cli/json_to_yaml.h"
#include "common/job_validation.h"
#include "fuzz/fuzz_check.h"
#include "nmoe/v1/jobs_service.pb.h"

namespace {

void CheckRoundTrip(nmoe::v1::JobSpec spec) {
  // Unknown fields (a newer client's) have no JSON form: compare without them.
  spec.DiscardUnknownFields();
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  NMOE_FUZZ_CHECK(google::protobuf::util::MessageToJsonString(spec, &json, options).ok());
  for (const auto format : {nmoe::cli::JobFileFormat::kJson, nmoe::cli::JobFileFormat::kYaml}) {
    const std::string text = format == nmoe::cli::JobFileFormat::kJson
                                 ? json
                                 : nmoe::cli::JsonToYaml(nlohmann::ordered_json::parse(json));
    absl::StatusOr<nmoe::v1::JobSpec> back = nmoe::cli::ParseJobSpec(text, format, "fuzz");
    if (!back.ok()) std::fprintf(stderr, "%s\n%s\n", back.status().ToString().c_str(), text.c_str());
    NMOE_FUZZ_CHECK(back.ok());
    if (!google::protobuf::util::MessageDifferencer::Equals(spec, *back)) {
      std::fprintf(stderr, "round trip changed the spec:\n%s\n---\n%s\n", spec.DebugString().c_str(),
                   back->DebugString().c_str());
      NMOE_FUZZ_CHECK(false);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int body = static_cast<int>(size - 1);
  if (data[0] % 2 == 0) {
    nmoe::v1::JobSpec spec;
    if (!spec.ParseFromArray(data + 1, body)) return 0;
    const absl::Status status = nmoe::ValidateJobSpec(spec);
    NMOE_FUZZ_CHECK(status.ok() || absl::IsInvalidArgument(status));
    if (status.ok()) CheckRoundTrip(spec);
  } else {
    nmoe::v1::SubmitJobRequest request;
    if (!request.ParseFromArray(data + 1, body)) return 0;
    const absl::Status status = nmoe::ValidateSubmitRequest(request);
    NMOE_FUZZ_CHECK(status.ok() || absl::IsInvalidArgument(status));
  }
  return 0;
}
