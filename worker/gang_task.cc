#include "worker/gang_task.h"

#include "absl/strings/str_cat.h"
#include "comm/coordinator_rendezvous_store.h"
#include "comm/make_communicator.h"

namespace nmoe::worker {
namespace {

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
    ctx.comm = communicator->get();
    absl::Status status = inner_->Run(ctx);
    ctx.comm = nullptr;
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
