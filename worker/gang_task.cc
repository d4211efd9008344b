#include "worker/gang_task.h"

#include "absl/strings/str_cat.h"
#include "comm/coordinator_rendezvous_store.h"
#include "comm/make_communicator.h"
#include "worker/running_task.h"

namespace nmoe::worker {
namespace {

// Forwards every call and remembers the first communication failure
// (UNAVAILABLE, DEADLINE_EXCEEDED: a peer died or went silent), so the gang
// task can tell "a peer is gone" from its own failures.
class RecordingCommunicator final : public comm::Communicator {
 public:
  explicit RecordingCommunicator(comm::Communicator* inner) : inner_(inner) {}
  int rank() const override { return inner_->rank(); }
  int world_size() const override { return inner_->world_size(); }
  std::string backend_name() const override { return inner_->backend_name(); }
  absl::Status AllReduce(const torch::Tensor& tensor, comm::ReduceOp op) override {
    return Record(inner_->AllReduce(tensor, op));
  }
  absl::Status AllGather(const torch::Tensor& input, const torch::Tensor& output_WX) override {
    return Record(inner_->AllGather(input, output_WX));
  }
  absl::Status Broadcast(const torch::Tensor& tensor, int root) override {
    return Record(inner_->Broadcast(tensor, root));
  }
  absl::Status AllToAll(const torch::Tensor& input, const torch::Tensor& output) override {
    return Record(inner_->AllToAll(input, output));
  }
  absl::Status Barrier() override { return Record(inner_->Barrier()); }

  const absl::Status& peer_failure() const { return peer_failure_; }

 private:
  absl::Status Record(absl::Status s) {
    if (peer_failure_.ok() && (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s))) peer_failure_ = s;
    return s;
  }
  comm::Communicator* inner_;
  absl::Status peer_failure_;
};

class GangTask : public Task {
 public:
  GangTask(std::unique_ptr<Task> inner, const cli::Client& client, std::string worker_id, GangOptions options)
      : inner_(std::move(inner)), client_(client), worker_id_(std::move(worker_id)), options_(std::move(options)) {}

  absl::Status Run(TaskContext& ctx) override {
    comm::CoordinatorStoreOptions store_options;
    store_options.token = client_.options().token;
    store_options.worker_id = worker_id_;
    store_options.job_id = ctx.task.job_id();
    store_options.attempt = ctx.task.attempt();
    comm::CoordinatorRendezvousStore store(client_.channel(), store_options);
    comm::CommOptions options;
    options.backend = comm::Backend::kGloo;
    options.rank = static_cast<int>(ctx.task.rank());
    options.world_size = static_cast<int>(ctx.task.world_size());
    options.store = &store;
    options.prefix = "gang";
    options.hostname = options_.advertise_host;
    options.timeout = options_.collective_timeout;
    options.rendezvous_timeout = options_.rendezvous_timeout;
    ctx.Info(absl::StrCat("gang: rank ", options.rank, " of ", options.world_size, ", forming the communicator"));
    auto communicator = comm::MakeCommunicator(options);
    if (!communicator.ok()) {
      return absl::UnavailableError(
          absl::StrCat("forming the gang's communicator failed: ", communicator.status().ToString()));
    }
    ctx.Info(absl::StrCat("gang: ", (*communicator)->backend_name(), " communicator of ", options.world_size,
                          " ranks ready"));
    RecordingCommunicator recording(communicator->get());
    ctx.comm = &recording;
    absl::Status status = inner_->Run(ctx);
    ctx.comm = nullptr;
    if (!status.ok() && !recording.peer_failure().ok() && !ctx.StopRequested()) {
      // A collective failed: most likely another rank died. PEER_LOST lets the
      // coordinator wait for the lost worker to be named before ending the attempt.
      const std::string detail = status.message() == recording.peer_failure().message()
                                     ? std::string(status.message())
                                     : absl::StrCat(recording.peer_failure().message(), "; ", status.message());
      return WithFailReason(absl::UnavailableError(absl::StrCat("a collective of the gang failed: ", detail)),
                            kPeerLostReason);
    }
    return status;
  }

 private:
  std::unique_ptr<Task> inner_;
  const cli::Client& client_;
  std::string worker_id_;
  GangOptions options_;
};

}  // namespace

std::unique_ptr<Task> NewGangTask(const v1::Task& task, std::unique_ptr<Task> inner, const cli::Client& client,
                                  const std::string& worker_id, GangOptions options) {
  (void)task;
  return std::make_unique<GangTask>(std::move(inner), client, worker_id, std::move(options));
}

}  // namespace nmoe::worker
