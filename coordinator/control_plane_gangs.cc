// Gang failures reported by the surviving ranks (reason PEER_LOST): see
// ControlPlane::DeferPeerLoss in control_plane.h.
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/control_plane.h"

namespace nmoe::coordinator {

absl::Status ControlPlane::DeferPeerLoss(WorkerEntry& worker, const std::string& task_id, const std::string& message,
                                         Touched& touched) {
  std::string job_id;
  uint32_t attempt = 0, rank = 0;
  if (!ParseTaskId(task_id, &job_id, &attempt, &rank)) return absl::InvalidArgumentError("task_id: malformed");
  v1::Job job = jobs_.at(job_id);
  // The worker is free at once; its slot stays assigned (so it is not leased
  // again within this attempt) until the attempt ends.
  worker.worker.clear_task_id();
  worker.worker.set_state(v1::WORKER_STATE_IDLE);
  auto [it, fresh] = peer_losses_.try_emplace(job_id);
  PeerLoss& loss = it->second;
  if (fresh || loss.attempt != attempt) {
    loss = PeerLoss{attempt, clock_->Now() + options_.lease_ttl, message, {}};
  }
  loss.ranks.insert(rank);
  if (loss.ranks.size() >= static_cast<size_t>(job.worker_ids_size())) {
    // Every rank lost its peers: nobody is left to be declared lost.
    const std::string all = absl::StrCat(loss.message, "; every rank of the gang reported a lost peer");
    return EndAttempt(job_id, "PEER_LOST", all, /*retryable=*/true, touched);
  }
  std::vector<v1::JobEvent> events;
  v1::JobEvent event = NewEvent(job);
  event.mutable_log()->set_level(v1::LOG_LEVEL_WARNING);
  event.mutable_log()->set_worker_id(worker.worker.id());
  event.mutable_log()->set_text(absl::StrCat("rank ", rank, " stopped, its gang lost a peer (", message,
                                             "); the attempt ends when the lost worker is identified, within ",
                                             absl::FormatDuration(options_.lease_ttl)));
  events.push_back(std::move(event));
  return Commit(std::move(job), std::move(events), /*sync=*/true, touched);
}

void ControlPlane::EndOverduePeerLosses(absl::Time now, Touched& touched) {
  std::vector<std::pair<std::string, std::string>> overdue;  // job id, message
  for (auto it = peer_losses_.begin(); it != peer_losses_.end();) {
    auto job = jobs_.find(it->first);
    const bool live = job != jobs_.end() && job->second.attempt() == it->second.attempt &&
                      (job->second.state() == v1::JOB_STATE_SCHEDULED || job->second.state() == v1::JOB_STATE_RUNNING);
    if (live && now < it->second.deadline) {
      ++it;
      continue;
    }
    if (live) overdue.emplace_back(it->first, it->second.message);
    it = peer_losses_.erase(it);
  }
  for (const auto& [job_id, message] : overdue) {
    const absl::Status s = EndAttempt(
        job_id, "PEER_LOST",
        absl::StrCat(message, "; no other rank failed or was lost within ", absl::FormatDuration(options_.lease_ttl)),
        /*retryable=*/true, touched);
    if (!s.ok()) spdlog::error("cannot end attempt of job {} after a lost gang peer: {}", job_id, s.ToString());
  }
}

}  // namespace nmoe::coordinator
