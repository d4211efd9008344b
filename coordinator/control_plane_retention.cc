// ControlPlane: retention of ended jobs (ControlPlaneOptions::finished_job_ttl
// and max_finished_jobs). Memory and disk stay bounded under a steady stream of
// submissions; live jobs, and the stage jobs of a pipeline still held, are never
// touched. Deletion is one store batch per Tick, written unsynced: a crash may
// bring a deleted job back, and the next Tick deletes it again.
#include <spdlog/spdlog.h>

#include "common/proto_time.h"
#include "coordinator/control_plane.h"
#include "coordinator/job_states.h"

namespace nmoe::coordinator {
namespace {

// Jobs deleted per Tick at most (with their stage jobs): keeps mu_'s hold short.
constexpr size_t kExpireBatch = 256;

}  // namespace

void ControlPlane::TrackEnded(const v1::Job& job) {
  if (!IsTerminal(job.state())) return;
  if (!job.parent_job_id().empty() && jobs_.count(job.parent_job_id())) return;
  ended_.emplace(FromProtoTime(job.end_time()), job.id());
}

size_t ControlPlane::RetainedEndedJobs() {
  std::lock_guard lock(mu_);
  return ended_.size();
}

void ControlPlane::ExpireEndedJobs(absl::Time now) {
  const absl::Duration ttl = options_.finished_job_ttl;
  const size_t max_kept = options_.max_finished_jobs;
  if (ttl <= absl::ZeroDuration() && max_kept == 0) return;
  std::vector<std::pair<absl::Time, std::string>> expired;
  std::vector<v1::Job> doomed;  // the expired jobs and their ended stage jobs
  for (auto it = ended_.begin(); it != ended_.end() && expired.size() < kExpireBatch; ++it) {
    if (now - it->first < options_.finished_job_min_age) break;  // so are all after it
    const bool too_old = ttl > absl::ZeroDuration() && now - it->first > ttl;
    const bool too_many = max_kept > 0 && ended_.size() - expired.size() > max_kept;
    if (!too_old && !too_many) break;
    expired.push_back(*it);
    auto job = jobs_.find(it->second);
    if (job == jobs_.end()) continue;
    doomed.push_back(job->second);
    for (const auto& stage : job->second.stages()) {
      auto child = jobs_.find(stage.job_id());
      // A stage job still running stays; once it ends it is tracked on its own.
      if (child != jobs_.end() && IsTerminal(child->second.state())) doomed.push_back(child->second);
    }
  }
  if (expired.empty()) return;
  if (absl::Status s = store_.DeleteJobs(doomed, /*sync=*/false); !s.ok()) {
    spdlog::error("retention: cannot delete {} ended job(s): {}", doomed.size(), s.ToString());
    return;  // all kept; retried next Tick
  }
  for (const auto& entry : expired) ended_.erase(entry);
  for (const auto& job : doomed) {
    auto key = idempotency_keys_.find(job.idempotency_key());
    if (key != idempotency_keys_.end() && key->second == job.id()) idempotency_keys_.erase(key);
    CountJobState(job.state(), v1::JOB_STATE_UNSPECIFIED);
    jobs_.erase(job.id());
  }
  if (metrics_) metrics_->CountJobsDeleted(doomed.size());
  spdlog::debug("retention: deleted {} ended job(s); {} ended kept", doomed.size(), ended_.size());
}

}  // namespace nmoe::coordinator
