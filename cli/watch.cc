#include "cli/watch.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"

#include "cli/job_view.h"
#include "common/grpc_status.h"

namespace nmoe::cli {

using nmoe::v1::JobEvent;
using nmoe::v1::JobState;

absl::Duration ReconnectDelay(int failures) {
  absl::Duration delay = absl::Milliseconds(250);
  for (int i = 1; i < failures && delay < absl::Seconds(5); ++i) delay *= 2;
  return std::min(delay, absl::Seconds(5));
}

bool IsRetryableWatchError(const absl::Status& status) {
  // CANCELLED: we never cancel a stream before its end, so the server did
  // (a coordinator shutting down cancels the calls it has not drained).
  // RESOURCE_EXHAUSTED: the coordinator's back-pressure (too many watch streams).
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kCancelled ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

absl::Duration RetryAfterHint(const std::multimap<grpc::string_ref, grpc::string_ref>& trailers) {
  auto it = trailers.find("retry-after-ms");
  if (it == trailers.end()) return absl::ZeroDuration();
  int64_t ms = 0;
  if (!absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms) || ms < 0) {
    return absl::ZeroDuration();
  }
  return std::min(absl::Milliseconds(ms), absl::Minutes(5));
}

namespace {

// One stream, from `*last_seq + 1`, until it ends. Sets *terminal when a
// terminal state change arrives; counts events in *received; *retry_after gets
// the server's retry hint (zero when none).
absl::Status StreamOnce(Client& client, const WatchOptions& options, uint64_t* last_seq,
                        std::optional<JobState>* terminal, int* received, absl::Duration* retry_after,
                        const WatchCallbacks& callbacks) {
  nmoe::v1::WatchJobRequest request;
  request.set_job_id(options.job_id);
  request.set_from_seq(*last_seq + 1);
  request.set_include_progress(options.include_progress);
  std::unique_ptr<grpc::ClientContext> context = client.NewStreamContext();
  std::unique_ptr<grpc::ClientReader<JobEvent>> reader =
      client.jobs().WatchJob(context.get(), request);
  JobEvent event;
  while (reader->Read(&event)) {
    if (event.seq() != 0 && event.seq() <= *last_seq) continue;  // already seen
    if (event.seq() != 0) *last_seq = event.seq();
    ++*received;
    if (callbacks.on_event) callbacks.on_event(event);
    if (event.has_state_change() && IsTerminal(event.state_change().to())) {
      *terminal = event.state_change().to();
      context->TryCancel();  // the server ends the stream anyway; do not wait
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (terminal->has_value()) return absl::OkStatus();
  *retry_after = RetryAfterHint(context->GetServerTrailingMetadata());
  if (status.ok()) return absl::UnavailableError("the watch stream ended before the job did");
  return FromGrpcStatus(status);
}

}  // namespace

absl::StatusOr<JobState> FollowJob(Client& client, const WatchOptions& options, const Clock& clock,
                                   const std::function<void(absl::Duration)>& sleep,
                                   const WatchCallbacks& callbacks) {
  uint64_t last_seq = options.from_seq > 0 ? options.from_seq - 1 : 0;
  int failures = 0;
  absl::Time broken_since = absl::InfinitePast();
  while (true) {
    std::optional<JobState> terminal;
    int received = 0;
    absl::Duration retry_after = absl::ZeroDuration();
    absl::Status status = StreamOnce(client, options, &last_seq, &terminal, &received, &retry_after, callbacks);
    if (terminal.has_value()) return *terminal;
    if (!IsRetryableWatchError(status)) return status;
    if (received > 0 || failures == 0) {  // a new outage starts now
      failures = 0;
      broken_since = clock.Now();
    }
    ++failures;
    const absl::Duration left = options.reconnect_timeout - (clock.Now() - broken_since);
    if (left <= absl::ZeroDuration()) return status;
    const absl::Duration delay = std::min(std::max(ReconnectDelay(failures), retry_after), left);
    if (callbacks.on_retry) callbacks.on_retry(status, last_seq + 1, delay);
    sleep(delay);
  }
}

}  // namespace nmoe::cli
