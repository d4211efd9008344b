// Back-pressure: bounds on the work the coordinator takes on at once
// (docs/security.md, "Bounded requests and load"). A call over a bound is
// refused at once with RESOURCE_EXHAUSTED, a message naming the limit and its
// flag, and the trailing metadata "retry-after-ms" (how long to wait before
// retrying), instead of being queued or buffered without bound.
//
// Bounded here: open WatchJob streams, server-wide and per client connection
// (gRPC peer), and SubmitJob calls being handled at once. Each WatchJob
// stream's own buffer is bounded by the reactor (WatchReactor: at most
// `watch_batch` events read ahead, one write in flight); request sizes by the
// server's message-size limits and common/spec_limits.h.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/server_context.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nmoe::coordinator {

struct AdmissionLimits {
  size_t max_watch_streams = 4096;            // --max-watch-streams; 0 = unbounded
  size_t max_watch_streams_per_peer = 256;    // --max-watch-streams-per-peer; 0 = unbounded
  size_t max_inflight_submits = 64;           // --max-inflight-submits; 0 = unbounded
  absl::Duration retry_after = absl::Seconds(1);  // --retry-after: the hint sent with refusals
};

class Admission {
 public:
  // Holds one admitted unit of work; releases it when destroyed.
  class Ticket {
   public:
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    friend class Admission;
    Ticket(Admission* admission, bool watch, std::string peer)
        : admission_(admission), watch_(watch), peer_(std::move(peer)) {}
    Admission* admission_;
    bool watch_;
    std::string peer_;
  };

  // `registry` may be null (no metrics).
  Admission(AdmissionLimits limits, prometheus::Registry* registry);

  // A WatchJob stream from `peer` (grpc::ServerContextBase::peer()).
  absl::StatusOr<std::unique_ptr<Ticket>> AdmitWatch(const std::string& peer);
  // A SubmitJob call, for as long as its handler runs.
  absl::StatusOr<std::unique_ptr<Ticket>> AdmitSubmit();

  // Adds the retry hint to `context`'s trailing metadata when `status` is a refusal.
  void AddRetryHint(grpc::ServerContextBase& context, const absl::Status& status) const;

  const AdmissionLimits& limits() const { return limits_; }
  size_t open_watches() const;

 private:
  void Release(bool watch, const std::string& peer);
  absl::Status Refuse(const std::string& what, size_t limit, const std::string& flag);

  const AdmissionLimits limits_;
  mutable std::mutex mu_;
  size_t watches_ = 0;
  size_t submits_ = 0;
  std::map<std::string, size_t> watches_by_peer_;
  prometheus::Gauge* watch_gauge_ = nullptr;
  prometheus::Family<prometheus::Counter>* refused_ = nullptr;
};

}  // namespace nmoe::coordinator
