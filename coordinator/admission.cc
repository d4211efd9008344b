#include "coordinator/admission.h"

#include "absl/strings/str_cat.h"

namespace nmoe::coordinator {

Admission::Ticket::~Ticket() { admission_->Release(watch_, peer_); }

Admission::Admission(AdmissionLimits limits, prometheus::Registry* registry) : limits_(limits) {
  if (registry == nullptr) return;
  watch_gauge_ = &prometheus::BuildGauge()
                      .Name("nmoe_watch_streams")
                      .Help("WatchJob streams open now")
                      .Register(*registry)
                      .Add({});
  refused_ = &prometheus::BuildCounter()
                  .Name("nmoe_admission_refused_total")
                  .Help("calls refused with RESOURCE_EXHAUSTED by a back-pressure limit, by limit")
                  .Register(*registry);
}

absl::Status Admission::Refuse(const std::string& what, size_t limit, const std::string& flag) {
  if (refused_ != nullptr) refused_->Add({{"limit", flag}}).Increment();
  return absl::ResourceExhaustedError(absl::StrCat("coordinator busy: ", what, " (limit ", limit, ", ", flag,
                                                   "); retry in ", absl::FormatDuration(limits_.retry_after)));
}

absl::StatusOr<std::unique_ptr<Admission::Ticket>> Admission::AdmitWatch(const std::string& peer) {
  std::lock_guard lock(mu_);
  if (limits_.max_watch_streams != 0 && watches_ >= limits_.max_watch_streams) {
    return Refuse(absl::StrCat(watches_, " watch streams open"), limits_.max_watch_streams, "--max-watch-streams");
  }
  size_t& mine = watches_by_peer_[peer];
  if (limits_.max_watch_streams_per_peer != 0 && mine >= limits_.max_watch_streams_per_peer) {
    return Refuse(absl::StrCat(mine, " watch streams open on this connection"), limits_.max_watch_streams_per_peer,
                  "--max-watch-streams-per-peer");
  }
  ++mine;
  ++watches_;
  if (watch_gauge_ != nullptr) watch_gauge_->Set(static_cast<double>(watches_));
  return std::unique_ptr<Ticket>(new Ticket(this, true, peer));
}

absl::StatusOr<std::unique_ptr<Admission::Ticket>> Admission::AdmitSubmit() {
  std::lock_guard lock(mu_);
  if (limits_.max_inflight_submits != 0 && submits_ >= limits_.max_inflight_submits) {
    return Refuse(absl::StrCat(submits_, " submissions in flight"), limits_.max_inflight_submits,
                  "--max-inflight-submits");
  }
  ++submits_;
  return std::unique_ptr<Ticket>(new Ticket(this, false, ""));
}

void Admission::Release(bool watch, const std::string& peer) {
  std::lock_guard lock(mu_);
  if (!watch) {
    --submits_;
    return;
  }
  --watches_;
  auto it = watches_by_peer_.find(peer);
  if (--it->second == 0) watches_by_peer_.erase(it);
  if (watch_gauge_ != nullptr) watch_gauge_->Set(static_cast<double>(watches_));
}

void Admission::AddRetryHint(grpc::ServerContextBase& context, const absl::Status& status) const {
  if (!absl::IsResourceExhausted(status)) return;
  context.AddTrailingMetadata("retry-after-ms", std::to_string(absl::ToInt64Milliseconds(limits_.retry_after)));
}

size_t Admission::open_watches() const {
  std::lock_guard lock(mu_);
  return watches_;
}

}  // namespace nmoe::coordinator
