// Validation of job specifications and submit requests.
//
// Contract: returns OK or INVALID_ARGUMENT whose message starts with the
// field's path, e.g. "spec.profile.top_n: must be at most 1000000". Checks
// values and their combinations only; whether paths exist is checked by the
// workers that read them (the coordinator may not see the workers' files).
#pragma once

#include "absl/status/status.h"
#include "nmoe/v1/jobs_service.pb.h"

namespace nmoe {

absl::Status ValidateJobSpec(const v1::JobSpec& spec);
absl::Status ValidateSubmitRequest(const v1::SubmitJobRequest& request);

// Language codes: 2-3 lower-case letters, optionally followed by "-" and
// 2-8 letters or digits ("en", "zh", "pt-BR", "zh-Hans").
bool IsLanguageCode(const std::string& code);

}  // namespace nmoe
