// Following a job's event stream (JobService.WatchJob) to its end, resuming
// after broken streams.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <grpcpp/support/string_ref.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/client.h"
#include "common/clock.h"
#include "nmoe/v1/job.pb.h"

namespace nmoe::cli {

struct WatchOptions {
  std::string job_id;
  uint64_t from_seq = 0;  // first event wanted; 0 or 1 = from the beginning
  bool include_progress = true;
  // How long the stream may stay broken (a retryable error) before giving up. The
  // budget restarts whenever an event arrives.
  absl::Duration reconnect_timeout = absl::Seconds(60);
};

struct WatchCallbacks {
  // Each event, once, in seq order (duplicates after a resume are dropped).
  std::function<void(const nmoe::v1::JobEvent&)> on_event;
  // Before each reconnect: why the stream broke, the seq it resumes from,
  // and the delay before trying. May be empty.
  std::function<void(const absl::Status&, uint64_t resume_seq, absl::Duration delay)> on_retry;
};

// UNAVAILABLE (server restarting, network), CANCELLED (cancelled by a server
// shutting down: nmoectl never cancels a stream before its end) and
// RESOURCE_EXHAUSTED (the coordinator refused the stream under load).
bool IsRetryableWatchError(const absl::Status& status);

// The "retry-after-ms" trailer a refusing coordinator sends (zero when absent
// or malformed; at most 5 minutes).
absl::Duration RetryAfterHint(const std::multimap<grpc::string_ref, grpc::string_ref>& trailers);

// Delay before the `failures`-th consecutive reconnect (1-based): 250 ms,
// doubling, at most 5 s.
absl::Duration ReconnectDelay(int failures);

// Streams the job's events until one puts the job in a terminal state and
// returns that state. When the stream fails with a retryable error
// (IsRetryableWatchError), waits ReconnectDelay (or the server's retry hint
// when longer) and reopens it from the last
// seen seq + 1; gives up with the last such error once the stream has
// been broken for reconnect_timeout (by `clock`; the last delay is cut to
// end at the budget). Any other failure (NOT_FOUND, UNAUTHENTICATED, ...) is
// returned at once. A stream that ends OK without a terminal event is
// treated like UNAVAILABLE.
absl::StatusOr<nmoe::v1::JobState> FollowJob(Client& client, const WatchOptions& options,
                                             const Clock& clock,
                                             const std::function<void(absl::Duration)>& sleep,
                                             const WatchCallbacks& callbacks);

}  // namespace nmoe::cli
