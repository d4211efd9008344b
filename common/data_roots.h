// Data roots: the folders whose files job specs may name (docs/security.md,
// "Data roots"). Both the coordinator (at submission) and nmoe-worker (before
// a task runs) check every path field of a spec against their roots.
//
// Contract of Check(): a path is inside when, made absolute (a relative path
// under `base`) and normalised lexically ("." and ".." folded), its components
// start with a root's, and, for the part of it that exists, also after symlinks
// are resolved (std::filesystem::weakly_canonical). A relative path that climbs
// out of `base` ("../x") is refused even where `base` is unknown. Errors are
// INVALID_ARGUMENT starting with the field's path
// ("spec.profile.corpora[0].paths[1]: ..."), like common/job_validation.h.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe {

class DataRoots {
 public:
  // No roots: every path is accepted (Check returns OK).
  DataRoots() = default;
  // Each root is made absolute (against the current directory) and canonical
  // where it exists; a root need not exist (it may be a worker's folder the
  // coordinator cannot see). INVALID_ARGUMENT for an empty root.
  static absl::StatusOr<DataRoots> Create(const std::vector<std::string>& roots);

  bool empty() const { return roots_.empty(); }
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

  // `base`: where relative paths resolve (the worker's work dir, itself one of
  // the roots there). nullopt (the coordinator, which cannot know a worker's
  // work dir): relative paths are accepted unless they climb out with "..".
  absl::Status Check(const std::string& field, const std::string& path,
                     const std::optional<std::filesystem::path>& base) const;

  // Check() on every path field of `spec` (string fields named "path", "paths"
  // or "*_path", found by reflection so new fields are covered), reporting the
  // first outside path with its field, e.g. "spec.train.output_path".
  absl::Status CheckSpec(const v1::JobSpec& spec, const std::optional<std::filesystem::path>& base) const;

 private:
  // Absolute and normalised, no trailing separator: as given, and with symlinks
  // resolved where the root exists (the form resolved paths are compared with).
  std::vector<std::filesystem::path> lexical_, roots_;
};

}  // namespace nmoe
