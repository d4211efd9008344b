// Job files: a nmoe.v1.JobSpec written in YAML or JSON, in the protobuf JSON
// mapping (field names as in job_spec.proto, enum values by their full
// names such as DEVICE_KIND_CPU). See examples/jobs/ and docs/cli.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe::cli {

enum class JobFileFormat { kYaml, kJson };

// JSON for a ".json" path; YAML for ".yaml"/".yml"; otherwise JSON when the
// first non-blank character of `text` is '{', else YAML.
JobFileFormat DetectJobFileFormat(const std::string& path, std::string_view text);

// Parses `text` as a JobSpec. `source` names the text in errors (the file
// name). Errors are INVALID_ARGUMENT and read
//   "<source>: <problem>" or "<source>:<line>:<column>: <problem>",
// e.g. "jobs/p.yaml:7:5: profile.top_nn: unknown field of nmoe.v1.ProfileSpec"
// or   "jobs/p.json: invalid job spec: ...". YAML goes through the
// schema-guided converter (yaml_to_json.h), JSON through nlohmann (syntax)
// then the protobuf JSON parser (fields, enum names).
absl::StatusOr<nmoe::v1::JobSpec> ParseJobSpec(std::string_view text, JobFileFormat format,
                                               const std::string& source);

// Reads and parses the file at `path` ("-" reads standard input as YAML or
// JSON by content). NOT_FOUND when it cannot be read; parse errors as above.
absl::StatusOr<nmoe::v1::JobSpec> ReadJobFile(const std::string& path);

// Command-line changes to a spec (nmoectl submit --name/--workers/--label).
struct SpecOverrides {
  std::optional<std::string> name;  // replaces spec.name
  std::optional<uint32_t> workers;  // replaces spec.resources.num_workers
  std::vector<std::string> labels;  // "key=value", added to or replacing spec.labels
};

// Applies `overrides` to `spec`. INVALID_ARGUMENT for a label without '='
// or with an empty key.
absl::Status ApplySpecOverrides(const SpecOverrides& overrides, nmoe::v1::JobSpec* spec);

}  // namespace nmoe::cli
