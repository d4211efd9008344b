// Training tokens/s of an MoE model through the project's trainer (issue 6): the
// `train` task kind's stage-1 path without its data and checkpoint plumbing.
//
//   bench_moe_train --preset small --experts 1,2,3,4,4,3,2,1 --top-k 2 --batch 16 --seq 256
//                   --threads 2 --warmup 1 --iters 5 [--write-model DIR]
//
// What runs, exactly as trainer/train_task.cc does it: a random dense model of the
// preset (model::NewRandomModel), upcycled by trainer::BuildMoeModel (expert 0 = the
// dense MLP, the others copies, Xavier-normal routers), trainer::SelectTrainable
// (EXPERTS_AND_ROUTERS: experts 1..n_l-1 and the routers; the rest frozen),
// trainer::MoeLoss (LM loss + balance coefficient x mean Switch balance loss, routing
// counts recorded), trainer::BuildAdamW (betas 0.9/0.95, eps 1e-8, weight decay
// --weight-decay) and trainer::TrainLoop (zero_grad, forward, backward, global norm,
// clipping at 1.0, AdamW step) at a constant learning rate. Every step trains on the
// same fixed batch of random tokens (seeded), so the loss falls and both
// implementations can be compared step by step.
//
// --write-model DIR saves the upcycled model before training (config.json +
// model.safetensors, model::SavePretrained) and the batch (DIR/batch.json: {"ids":
// [[...] x B] of T+1 tokens}) for the Python peer bench/trainer/peer_moe.py, which then
// trains the same weights on the same batch: its per-step losses must match the ones
// printed here (the check that both do the same work).
//
// Output: the parameter counts (total, trainable, matmul weights active per token),
// one line per step (loss, gradient norm, wall seconds, process CPU seconds), and a
// JSON line with the median step time (wall and CPU) and tokens/s over the --iters
// timed steps after --warmup steps. --profile N runs N more steps under LibTorch's
// profiler and prints the self time per op.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/task.h"
#include "bench/bench_compute.h"
#include "compute/blas_kernels.h"
#include "compute/compute_info.h"
#include "fmt/format.h"
#include "model/checkpoint.h"
#include "model/moe_mlp.h"
#include "trainer/moe_loss.h"
#include "trainer/moe_model.h"
#include "trainer/optimizer.h"
#include "trainer/presets.h"
#include "trainer/train_loop.h"

namespace {

// CPU seconds of the whole process (every thread): on a shared machine the work done,
// where the wall time also holds the waits for a core.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

int Fail(const absl::Status& s) {
  std::cerr << "bench_moe_train: " << s << "\n";
  return 1;
}

// The same batch on every call.
class FixedBatchSource final : public nmoe::trainer::BatchSource {
 public:
  explicit FixedBatchSource(nmoe::trainer::Batch b) : batch_(std::move(b)) {}
  nmoe::trainer::Batch Next(int64_t) override { return batch_; }
  std::string Position() const override { return "fixed"; }
  absl::Status Seek(const std::string&) override { return absl::OkStatus(); }

 private:
  nmoe::trainer::Batch batch_;
};

// Matmul weights a token passes through in a training forward (PaLM's N for an MoE):
// attention projections, the LM head, and per layer min(k, n_l) experts plus the
// router of an MoE layer (the dense MLP otherwise). Embedding lookups are free.
int64_t ActiveMatmulWeights(const nmoe::model::ModelConfig& c) {
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  const int64_t hd = c.head_dim > 0 ? c.head_dim : D / c.num_attention_heads;
  const int64_t attn = D * hd * (2 * c.num_attention_heads + 2 * c.num_key_value_heads);
  int64_t n = c.vocab_size * D;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const int64_t e = c.ExpertsInLayer(l);
    n += attn + 3 * D * F * (e >= 2 ? std::min(c.num_experts_per_tok, e) : 1) + (e >= 2 ? D * e : 0);
  }
  return n;
}

// Self time per op (LibTorch's legacy profiler) per step, the `rows` largest.
void PrintOpTable(const torch::autograd::profiler::thread_event_lists& lists, int steps, size_t rows) {
  using torch::autograd::profiler::EventKind;
  using torch::autograd::profiler::LegacyEvent;
  std::map<std::string, std::pair<double, int64_t>> self;  // op -> (self us, calls)
  double all_us = 0;
  for (const auto& list : lists) {
    std::vector<std::pair<const LegacyEvent*, double>> open;  // push event, children's time
    for (const LegacyEvent& e : list) {
      if (e.kind() == EventKind::PushRange) {
        open.emplace_back(&e, 0.0);
      } else if (e.kind() == EventKind::PopRange && !open.empty()) {
        const auto [push, children_us] = open.back();
        open.pop_back();
        const double us = push->cpuElapsedUs(e);
        auto& t = self[push->name()];
        t.first += us - children_us;
        ++t.second;
        (open.empty() ? all_us : open.back().second) += us;
      }
    }
  }
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> sorted(self.begin(), self.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  fmt::print("profile: {:.1f} ms per step in ops; self time by op:\n", all_us / 1000.0 / steps);
  for (size_t i = 0; i < std::min(rows, sorted.size()); ++i) {
    fmt::print("  {:<40} {:9.1f} ms {:6.1f}% {:7} calls\n", sorted[i].first, sorted[i].second.first / 1000.0 / steps,
               100.0 * sorted[i].second.first / all_us, sorted[i].second.second / steps);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);
  CLI::App app{"nmoe MoE training benchmark"};
  std::string preset = "small", experts_text = "1,2,3,4,4,3,2,1", write_model, blas_flag;
  int64_t vocab = 8192, batch = 16, seq = 256, top_k = 2;
  int threads = 2, iters = 5, warmup = 1, profile = 0;
  double lr = 1e-3, balance = 0.01, weight_decay = 0.0;
  app.add_option("--preset", preset, "Model preset (trainer/presets.h)")->capture_default_str();
  app.add_option("--vocab", vocab)->capture_default_str();
  app.add_option("--experts", experts_text, "Experts per layer (the plan), comma-separated")->capture_default_str();
  app.add_option("--top-k", top_k)->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--seq", seq)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--iters", iters, "Timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "Untimed steps first")->capture_default_str();
  app.add_option("--lr", lr, "Constant learning rate")->capture_default_str();
  app.add_option("--balance", balance, "Switch balance-loss coefficient")->capture_default_str();
  app.add_option("--weight-decay", weight_decay)->capture_default_str();
  app.add_option("--profile", profile, "Then N more steps under LibTorch's profiler: self time by op");
  app.add_option("--write-model", write_model, "Save the upcycled model and the batch here (for peer_moe.py)");
  app.add_option(nmoe::compute::kBlasKernelsFlag, blas_flag, nmoe::compute::kBlasKernelsFlagHelp);
  CLI11_PARSE(app, argc, argv);
  if (iters < 1 || warmup < 0) return Fail(absl::InvalidArgumentError("--iters must be >= 1, --warmup >= 0"));

  std::vector<int64_t> plan;
  for (absl::string_view part : absl::StrSplit(experts_text, ',')) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(part, &n)) return Fail(absl::InvalidArgumentError("--experts: not a list of integers"));
    plan.push_back(n);
  }

  auto info = nmoe::bench::InitBenchCompute(kernels, threads);
  if (!info.ok()) return Fail(info.status());

  auto config = nmoe::trainer::PresetConfig(preset, vocab, 0, 1);
  if (!config.ok()) return Fail(config.status());
  auto dense = nmoe::model::NewRandomModel(*config, 1);
  if (!dense.ok()) return Fail(dense.status());
  auto built = nmoe::trainer::BuildMoeModel(**dense, plan, top_k, /*seed=*/7);
  if (!built.ok()) return Fail(built.status());
  std::shared_ptr<nmoe::model::CausalLm> lm = *built;
  dense->reset();

  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor ids = at::randint(0, vocab, {batch, seq + 1}, gen, at::kLong);
  nmoe::trainer::Batch b;
  b.ids_BT = ids.narrow(1, 0, seq).contiguous();
  b.targets_BT = ids.narrow(1, 1, seq).contiguous();
  b.predicted_tokens = batch * seq;

  if (!write_model.empty()) {
    if (auto s = nmoe::model::SavePretrained(*lm, write_model); !s.ok()) return Fail(s);
    std::ofstream out(write_model + "/batch.json");
    out << "{\"ids\": [";
    const at::Tensor rows = ids.contiguous();
    const int64_t* p = rows.data_ptr<int64_t>();
    for (int64_t i = 0; i < batch; ++i) {
      out << (i > 0 ? ", [" : "[");
      for (int64_t t = 0; t <= seq; ++t) out << (t > 0 ? ", " : "") << p[i * (seq + 1) + t];
      out << "]";
    }
    out << "]}\n";
    if (!out) return Fail(absl::InternalError("cannot write " + write_model + "/batch.json"));
  }

  auto trainable = nmoe::trainer::SelectTrainable(*lm, nmoe::v1::TRAINABLE_EXPERTS_AND_ROUTERS);
  if (!trainable.ok()) return Fail(trainable.status());
  int64_t trained = 0, total = 0;
  for (const at::Tensor& p : *trainable) trained += p.numel();
  for (const at::Tensor& p : lm->parameters()) total += p.numel();
  const int64_t active = ActiveMatmulWeights(lm->config());
  fmt::print("parameters: total {}, trainable {}, active matmul weights per token {}\n", total, trained, active);

  nmoe::trainer::MoeLossOptions loss_options;
  loss_options.balance_coef = balance;
  nmoe::trainer::MoeLoss loss(*lm, loss_options);
  nmoe::trainer::AdamWSettings adamw;
  adamw.lr = lr;
  adamw.weight_decay = weight_decay;
  std::unique_ptr<torch::optim::AdamW> optimizer = nmoe::trainer::BuildAdamW(*lm, adamw);
  FixedBatchSource source(b);

  nmoe::trainer::TrainLoopOptions loop;
  loop.total_steps = static_cast<uint64_t>(warmup + iters + profile);
  loop.batch_sequences = batch;
  loop.schedule.peak_lr = lr;
  loop.schedule.total_steps = loop.total_steps;
  loop.schedule.min_lr_ratio = 1.0;  // constant
  loop.grad_clip = 1.0;
  loop.stage = "bench";
  loop.log_every = loop.total_steps + 1;

  std::vector<double> times, cpu_times;
  double cpu_mark = 0;
  nmoe::trainer::TrainComponents parts;
  parts.parameters = *trainable;
  parts.optimizer = optimizer.get();
  parts.data = &source;
  parts.loss = [&loss](const nmoe::trainer::Batch& x) { return loss(x); };
  parts.on_step = [&](const nmoe::trainer::StepRecord& r) {
    const double cpu_now = ProcessCpuSeconds(), cpu = cpu_now - cpu_mark;
    cpu_mark = cpu_now;
    fmt::print("step {}: loss {:.6f} (lm {:.6f}, balance {:.6f}), grad norm {:.6f}, {:.3f} s, {:.3f} CPU s\n", r.step,
               r.loss, loss.last().lm, loss.last().balance, r.grad_norm, r.seconds, cpu);
    std::cout.flush();
    if (r.step > static_cast<uint64_t>(warmup) && r.step <= static_cast<uint64_t>(warmup + iters)) {
      times.push_back(r.seconds);
      cpu_times.push_back(cpu);
    }
    loss.TakeRouting();
    if (profile > 0 && r.step == static_cast<uint64_t>(warmup + iters)) {
      torch::autograd::profiler::enableProfilerLegacy(
          torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    }
  };
  nmoe::trainer::TrainLoop trainer(std::move(parts), loop);
  nmoe::TaskContext ctx;
  ctx.report_progress = [](const nmoe::v1::Progress&) {};
  ctx.log = [](nmoe::v1::LogLevel, const std::string&) {};
  cpu_mark = ProcessCpuSeconds();
  if (auto s = trainer.Run(ctx); !s.ok()) return Fail(s);
  if (profile > 0) PrintOpTable(torch::autograd::profiler::disableProfilerLegacy(), profile, 25);

  std::sort(times.begin(), times.end());
  std::sort(cpu_times.begin(), cpu_times.end());
  const double median = times[times.size() / 2];
  const double cpu_median = cpu_times[cpu_times.size() / 2];
  const double tokens_per_s = static_cast<double>(batch * seq) / median;
  fmt::print("train step (threads {}): batch {} x {}, median {:.4f} s (best {:.4f}) -> {:.1f} tokens/s\n",
             at::get_num_threads(), batch, seq, median, times.front(), tokens_per_s);
  fmt::print("JSON {{\"impl\": \"cpp\", \"threads\": {}, \"batch\": {}, \"seq\": {}, \"total_params\": {}, "
             "\"trainable_params\": {}, \"active_weights\": {}, \"seconds_per_iter\": {:.6f}, \"best\": {:.6f}, "
             "\"tokens_per_s\": {:.2f}, \"cpu_seconds_per_iter\": {:.6f}}}\n",
             at::get_num_threads(), batch, seq, total, trained, active, median, times.front(), tokens_per_s, cpu_median);
  return 0;
}
