// Size bounds on job specs, checked at submission before anything is stored:
// every repeated field (corpora, paths, stages, allocations, languages,
// labels, ...) has at most kMaxSpecRepeated entries, every string at most
// kMaxSpecStringBytes, and the whole spec at most kMaxSpecBytes serialised.
// They bound what one SubmitJob can make the coordinator keep (each job's spec
// is held in memory and in every Task leased for it), far above any real spec.
//
// Contract: OK, or INVALID_ARGUMENT starting with the field's path
// ("spec.pipeline.corpora: 5000 entries, at most 4096").
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "nmoe/v1/job_spec.pb.h"

namespace nmoe {

inline constexpr int kMaxSpecRepeated = 4096;
inline constexpr size_t kMaxSpecStringBytes = 4096;
inline constexpr size_t kMaxSpecBytes = 1 << 20;

absl::Status CheckSpecLimits(const v1::JobSpec& spec);

}  // namespace nmoe
