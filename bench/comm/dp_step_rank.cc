#include "bench/comm/dp_step_rank.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <time.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/comm/file_rendezvous_store.h"
#include "comm/make_communicator.h"
#include "common/status_macros.h"
#include "compute/threads.h"
#include "model/checkpoint.h"
#include "trainer/data_parallel.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/presets.h"

namespace nmoe::bench {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// CPU seconds of every thread of this process (Gloo's I/O threads included).
double ProcessCpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Random tokens: ids_BT = tokens[:, :T], targets_BT = tokens[:, 1:]. Every rank draws
// its own sequences (its slice of the global batch), as a sharded loader gives.
trainer::Batch RandomBatch(at::Generator& gen, int64_t batch, int64_t seq, int64_t vocab) {
  at::Tensor tokens = at::randint(0, vocab, {batch, seq + 1}, gen, at::TensorOptions().dtype(at::kLong));
  trainer::Batch b;
  b.ids_BT = tokens.narrow(1, 0, seq).contiguous();
  b.targets_BT = tokens.narrow(1, 1, seq).contiguous();
  b.predicted_tokens = batch * seq;
  return b;
}

// One step as TrainLoop::Step does it (grad_accumulation 1, grad_clip 1.0, fp32).
absl::StatusOr<StepTimes> Step(model::CausalLm& lm, torch::optim::Optimizer& optimizer,
                               const std::vector<at::Tensor>& parameters, trainer::DataParallel* dp,
                               comm::Communicator* barrier, const trainer::Batch& batch, double lr, double* loss_out) {
  StepTimes t;
  const auto start = Clock::now();
  const double start_cpu = ProcessCpu();
  std::vector<double> counts = {static_cast<double>(batch.predicted_tokens), static_cast<double>(batch.ids_BT.numel())};
  if (dp != nullptr) NMOE_RETURN_IF_ERROR(dp->SumValues(counts));
  t.sync += Since(start);
  t.sync_cpu += ProcessCpu() - start_cpu;

  auto phase = Clock::now();
  double phase_cpu = ProcessCpu();
  optimizer.zero_grad();
  const double denominator = std::max(counts[0], 1.0);
  NMOE_ASSIGN_OR_RETURN(at::Tensor summed, trainer::LmLossSum(lm, batch));
  double loss_sum = summed.item<double>();
  (summed / denominator).backward();
  t.fwd_bwd = Since(phase);
  t.fwd_bwd_cpu = ProcessCpu() - phase_cpu;

  if (barrier != nullptr) {
    phase = Clock::now();
    NMOE_RETURN_IF_ERROR(barrier->Barrier());
    t.wait = Since(phase);
  }
  phase = Clock::now();
  phase_cpu = ProcessCpu();
  if (dp != nullptr) {
    std::vector<double> sum = {loss_sum};
    NMOE_RETURN_IF_ERROR(dp->SumValues(sum));
    loss_sum = sum[0];
    NMOE_RETURN_IF_ERROR(dp->SumGradients(parameters));
  }
  t.sync += Since(phase);
  t.sync_cpu += ProcessCpu() - phase_cpu;

  phase = Clock::now();
  std::vector<at::Tensor> norms;
  for (const at::Tensor& p : parameters) {
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(at::kFloat).norm());
  }
  const double grad_norm = norms.empty() ? 0.0 : at::stack(norms).norm().item<double>();
  if (!std::isfinite(grad_norm) || !std::isfinite(loss_sum)) {
    return absl::InternalError(absl::StrCat("diverged: loss sum ", loss_sum, ", gradient norm ", grad_norm));
  }
  constexpr double kClip = 1.0;
  if (grad_norm > kClip) {
    for (const at::Tensor& p : parameters) {
      if (p.grad().defined()) p.grad().mul_(kClip / (grad_norm + 1e-6));
    }
  }
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
  optimizer.step();
  t.optimizer = Since(phase);
  t.total = Since(start);
  t.total_cpu = ProcessCpu() - start_cpu;
  *loss_out = loss_sum / denominator;
  return t;
}

}  // namespace

absl::StatusOr<DpRankResult> RunDpRank(const DpRankOptions& o) {
  DpRankResult result;
  compute::ThreadOptions threads;
  threads.intra_op = o.threads;
  NMOE_ASSIGN_OR_RETURN(compute::ThreadSettings applied,
                        compute::ApplyThreads(threads, static_cast<int>(std::thread::hardware_concurrency())));
  result.threads = applied.intra_op;

  NMOE_ASSIGN_OR_RETURN(model::ModelConfig config, trainer::PresetConfig(o.preset, o.vocab_size));
  config.torch_dtype = "float32";
  NMOE_RETURN_IF_ERROR(model::ValidateModelConfig(config));
  // The same seed on every rank: identical initial weights, as in a gang's pretrain.
  NMOE_ASSIGN_OR_RETURN(std::shared_ptr<model::CausalLm> lm, model::NewRandomModel(config, o.seed));
  trainer::AdamWSettings adamw;
  adamw.lr = o.lr;
  adamw.weight_decay = 0.1;
  std::unique_ptr<torch::optim::AdamW> optimizer = trainer::BuildAdamW(*lm, adamw);
  const std::vector<at::Tensor> parameters = lm->parameters();
  for (const at::Tensor& p : parameters) result.parameters += p.numel();
  result.grad_bytes = result.parameters * 4;

  std::unique_ptr<FileRendezvousStore> store;
  std::unique_ptr<comm::Communicator> communicator;
  std::unique_ptr<trainer::DataParallel> dp;
  if (o.world_size > 1) {
    store = std::make_unique<FileRendezvousStore>(o.store_dir);
    comm::CommOptions options;  // as worker/gang_task.cc forms a gang's communicator
    options.backend = comm::Backend::kGloo;
    options.rank = o.rank;
    options.world_size = o.world_size;
    options.store = store.get();
    options.prefix = "gang";
    options.hostname = "127.0.0.1";
    options.timeout = absl::Minutes(10);  // a step on a loaded machine can take many seconds
    options.rendezvous_timeout = absl::Minutes(2);
    NMOE_ASSIGN_OR_RETURN(communicator, comm::MakeCommunicator(options));
    dp = std::make_unique<trainer::DataParallel>(communicator.get(), o.bucket_bytes);
  }

  try {
    at::Generator gen = at::detail::createCPUGenerator(o.seed * 1000 + 17 + static_cast<uint64_t>(o.rank));
    for (int i = 0; i < o.warmup + o.steps; ++i) {
      const trainer::Batch batch = RandomBatch(gen, o.batch, o.seq, config.vocab_size);
      NMOE_ASSIGN_OR_RETURN(
          StepTimes t, Step(*lm, *optimizer, parameters, dp.get(), o.split_wait ? communicator.get() : nullptr, batch,
                            o.lr, &result.last_loss));
      if (i >= o.warmup) result.steps.push_back(t);
    }
    if (communicator != nullptr) {
      torch::NoGradGuard no_grad;
      std::vector<at::Tensor> flat;
      for (const at::Tensor& p : parameters) flat.push_back(p.detach().reshape({-1}));
      const at::Tensor mine = at::cat(flat);
      const at::Tensor rank0 = mine.clone();
      NMOE_RETURN_IF_ERROR(communicator->Broadcast(rank0, 0));
      result.max_abs_diff = (mine - rank0).abs().max().item<double>();
      result.identical = at::equal(mine, rank0);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("rank ", o.rank, ": ", e.what_without_backtrace()));
  }
  return result;
}

std::string FormatDpRankResult(const DpRankResult& r) {
  std::ostringstream out;
  out.precision(17);
  out << "parameters " << r.parameters << "\ngrad_bytes " << r.grad_bytes << "\nthreads " << r.threads << "\nlast_loss "
      << r.last_loss << "\nmax_abs_diff " << r.max_abs_diff << "\nidentical " << (r.identical ? 1 : 0) << "\n";
  for (const StepTimes& t : r.steps) {
    out << "step " << t.fwd_bwd << " " << t.wait << " " << t.sync << " " << t.optimizer << " " << t.total << " "
        << t.fwd_bwd_cpu << " " << t.sync_cpu << " " << t.total_cpu << "\n";
  }
  return out.str();
}

absl::StatusOr<DpRankResult> ParseDpRankResult(const std::string& text) {
  DpRankResult r;
  int fields = 0;
  std::istringstream in(text);
  std::string key;
  while (in >> key) {
    if (key == "step") {
      StepTimes t;
      in >> t.fwd_bwd >> t.wait >> t.sync >> t.optimizer >> t.total >> t.fwd_bwd_cpu >> t.sync_cpu >> t.total_cpu;
      r.steps.push_back(t);
    } else if (key == "parameters") {
      in >> r.parameters;
      ++fields;
    } else if (key == "grad_bytes") {
      in >> r.grad_bytes;
      ++fields;
    } else if (key == "threads") {
      in >> r.threads;
      ++fields;
    } else if (key == "last_loss") {
      in >> r.last_loss;
      ++fields;
    } else if (key == "max_abs_diff") {
      in >> r.max_abs_diff;
      ++fields;
    } else if (key == "identical") {
      int v = 0;
      in >> v;
      r.identical = v != 0;
      ++fields;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("rank result: unknown key '", key, "'"));
    }
    if (in.fail()) return absl::InvalidArgumentError(absl::StrCat("rank result: bad value of '", key, "'"));
  }
  if (fields != 6 || r.steps.empty()) {
    return absl::InvalidArgumentError("rank result: incomplete (the rank did not finish)");
  }
  return r;
}

}  // namespace nmoe::bench
