#include "comm/coordinator_rendezvous_store.h"

#include <algorithm>
#include <thread>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace nmoe::comm {
namespace {

// Backoff between retries of UNAVAILABLE.
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

absl::Status Annotate(const grpc::Status& status, const std::string& what) {
  absl::Status s = FromGrpcStatus(status);
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

CoordinatorRendezvousStore::CoordinatorRendezvousStore(std::shared_ptr<grpc::Channel> channel,
                                                       CoordinatorStoreOptions options)
    : channel_(std::move(channel)), stub_(v1::WorkerService::NewStub(channel_)), options_(std::move(options)) {}

std::unique_ptr<grpc::ClientContext> CoordinatorRendezvousStore::Context(absl::Time deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  ctx->set_deadline(absl::ToChronoTime(deadline));
  return ctx;
}

v1::KvScope CoordinatorRendezvousStore::Scope() const {
  v1::KvScope scope;
  scope.set_job_id(options_.job_id);
  scope.set_attempt(options_.attempt);
  return scope;
}

std::string CoordinatorRendezvousStore::Where() const {
  return absl::StrCat(" (job ", options_.job_id, " attempt ", options_.attempt,
                      options_.worker_id.empty() ? "" : ", worker ", options_.worker_id, ")");
}

absl::Status CoordinatorRendezvousStore::Set(const std::string& key, const std::string& value) {
  v1::KvSetRequest request;
  *request.mutable_scope() = Scope();
  request.set_key(key);
  request.set_value(value);
  const absl::Time give_up = absl::Now() + options_.retry_timeout;
  absl::Duration backoff = kFirstBackoff;
  while (true) {
    v1::KvSetResponse response;
    grpc::Status s = stub_->KvSet(Context(absl::Now() + options_.rpc_timeout).get(), request, &response);
    if (s.ok()) return absl::OkStatus();
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() + backoff > give_up) {
      return Annotate(s, absl::StrCat("rendezvous KvSet '", key, "'", Where()));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

absl::StatusOr<std::vector<std::string>> CoordinatorRendezvousStore::Wait(const std::vector<std::string>& keys,
                                                                          absl::Duration timeout) {
  if (keys.empty()) return std::vector<std::string>();
  v1::KvWaitRequest request;
  *request.mutable_scope() = Scope();
  for (const auto& key : keys) request.add_keys(key);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = kFirstBackoff;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    const absl::Duration call = std::min(left, options_.max_wait_call);
    request.set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(1, absl::ToInt64Milliseconds(call))));
    v1::KvWaitResponse response;
    // The RPC deadline leaves the server time to answer DEADLINE_EXCEEDED itself.
    grpc::Status s = stub_->KvWait(Context(absl::Now() + call + options_.rpc_timeout).get(), request, &response);
    if (s.ok()) {
      if (response.values_size() != static_cast<int>(keys.size())) {
        return absl::InternalError(absl::StrCat("rendezvous KvWait: ", response.values_size(), " values for ",
                                                keys.size(), " keys", Where()));
      }
      return std::vector<std::string>(response.values().begin(), response.values().end());
    }
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) continue;  // one bounded call ended
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      absl::SleepFor(std::min(backoff, std::max(absl::ZeroDuration(), deadline - absl::Now())));
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    return Annotate(s, absl::StrCat("rendezvous KvWait '", JoinKeys(keys), "'", Where()));
  }
  return absl::DeadlineExceededError(absl::StrCat("rendezvous: keys '", JoinKeys(Missing(keys)),
                                                  "' not set within ", absl::FormatDuration(timeout), Where()));
}

std::vector<std::string> CoordinatorRendezvousStore::Missing(const std::vector<std::string>& keys) {
  std::vector<std::string> missing;
  for (const auto& key : keys) {
    v1::KvGetRequest request;
    *request.mutable_scope() = Scope();
    request.set_key(key);
    v1::KvGetResponse response;
    grpc::Status s = stub_->KvGet(Context(absl::Now() + options_.rpc_timeout).get(), request, &response);
    if (!s.ok() || !response.found()) missing.push_back(key);
  }
  return missing;
}

absl::StatusOr<int64_t> CoordinatorRendezvousStore::Add(const std::string& key, int64_t delta) {
  v1::KvAddRequest request;
  *request.mutable_scope() = Scope();
  request.set_key(key);
  request.set_delta(delta);
  v1::KvAddResponse response;
  grpc::Status s = stub_->KvAdd(Context(absl::Now() + options_.rpc_timeout).get(), request, &response);
  if (!s.ok()) return Annotate(s, absl::StrCat("rendezvous KvAdd '", key, "'", Where()));
  return response.value();
}

}  // namespace nmoe::comm
