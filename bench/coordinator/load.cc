#include "bench/coordinator/load.h"

#include <condition_variable>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"

namespace nmoe::bench {
namespace {

constexpr int kMaxRegistersInFlight = 64;

}  // namespace

ChannelPool::ChannelPool(const std::string& address, int channels, std::string authorization)
    : authorization_(std::move(authorization)) {
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    // Distinct arguments and a local subchannel pool: one TCP connection per channel.
    args.SetInt("nmoe.bench.channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    workers_.push_back(v1::WorkerService::NewStub(channel));
    jobs_.push_back(v1::JobService::NewStub(channel));
    channels_.push_back(std::move(channel));
  }
}

void ChannelPool::Prepare(grpc::ClientContext& context, absl::Duration deadline) const {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(deadline));
  if (!authorization_.empty()) context.AddMetadata("authorization", authorization_);
}

bool ChannelPool::WaitConnected(absl::Duration timeout) {
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout);
  for (auto& channel : channels_) {
    if (!channel->WaitForConnected(deadline)) return false;
  }
  return true;
}

bool Load::RegisterWorkers(absl::Duration timeout) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    int done = 0;
  };
  struct Call {
    grpc::ClientContext context;
    v1::RegisterWorkerRequest request;
    v1::RegisterWorkerResponse response;
    absl::Time start;
  };
  auto shared = std::make_shared<Shared>();
  for (int i = 0; i < config_.workers; ++i) workers_.push_back(std::make_unique<SimWorker>());
  const absl::Time start = absl::Now(), deadline = start + timeout;
  for (int i = 0; i < config_.workers; ++i) {
    {
      std::unique_lock lock(shared->mu);
      if (!shared->cv.wait_until(lock, absl::ToChronoTime(deadline),
                                 [&] { return shared->in_flight < kMaxRegistersInFlight; })) {
        return false;
      }
      ++shared->in_flight;
    }
    auto* call = new Call;
    pool_->Prepare(call->context, config_.deadline);
    auto* caps = call->request.mutable_capabilities();
    caps->set_device(v1::DEVICE_KIND_CPU);
    caps->set_threads(1);
    caps->set_hostname(absl::StrCat("bench-host-", i / 8));
    caps->set_version("bench");
    call->start = absl::Now();
    in_flight_.fetch_add(1);
    SimWorker* worker = workers_[i].get();
    pool_->workers(i).async()->RegisterWorker(
        &call->context, &call->request, &call->response, [this, call, worker, shared](grpc::Status status) {
          stats_.register_worker.Record(status, absl::Now() - call->start);
          if (status.ok()) worker->id = call->response.worker_id();
          delete call;
          {
            std::lock_guard lock(shared->mu);
            --shared->in_flight;
            ++shared->done;
            shared->cv.notify_all();
          }
          in_flight_.fetch_sub(1);
        });
  }
  std::unique_lock lock(shared->mu);
  const bool finished = shared->cv.wait_until(lock, absl::ToChronoTime(deadline + config_.deadline),
                                              [&] { return shared->done == config_.workers; });
  stats_.register_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return finished && stats_.register_worker.ok() == static_cast<uint64_t>(config_.workers);
}

void Load::Start() {
  for (int t = 0; t < config_.heartbeat_threads; ++t) threads_.emplace_back([this, t] { HeartbeatLoop(t); });
  if (config_.lessees > 0) {
    for (int t = 0; t < config_.lessee_threads; ++t) threads_.emplace_back([this, t] { LesseeLoop(t); });
  }
  for (int t = 0; t < config_.clients; ++t) threads_.emplace_back([this, t] { ClientLoop(t); });
}

void Load::BeginWindow() {
  window_start_ = absl::Now();
  measuring_.store(true);
}

void Load::EndWindow() {
  measuring_.store(false);
  window_end_ = absl::Now();
}

void Load::Stop() {
  stop_.store(true);
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Every call ends by its deadline: callbacks must not outlive this object.
  while (in_flight_.load() > 0) absl::SleepFor(absl::Milliseconds(5));
}

void Load::Sleep(absl::Duration d) {
  const absl::Time until = absl::Now() + d;
  while (!stop_.load()) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    absl::SleepFor(std::min(left, absl::Milliseconds(10)));
  }
}

}  // namespace nmoe::bench
