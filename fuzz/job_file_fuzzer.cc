// Fuzzes job files as nmoectl reads them: text -> cli::ParseJobSpec (YAML
// through the schema-guided converter, or JSON when the text starts with '{';
// DetectJobFileFormat) -> the coordinator's ValidateJobSpec. Input: a job file.
// Contract checked: every failure is INVALID_ARGUMENT, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/job_file.h"
#include "common/job_validation.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nmoe::cli::JobFileFormat format = nmoe::cli::DetectJobFileFormat("fuzz", text);
  absl::StatusOr<nmoe::v1::JobSpec> spec = nmoe::cli::ParseJobSpec(text, format, "fuzz");
  if (!spec.ok()) {
    NMOE_FUZZ_CHECK(absl::IsInvalidArgument(spec.status()));
    return 0;
  }
  const absl::Status status = nmoe::ValidateJobSpec(*spec);
  NMOE_FUZZ_CHECK(status.ok() || absl::IsInvalidArgument(status));
  return 0;
}
