// Model FLOP/s utilisation (MFU) against this machine's GEMM peak, measured in one run.
//
//   bench_mfu [--quick] [--threads 2] [--config-3b bench/model/llama-3.2-3b.config.json]
//
// 1. Peak: compute::MeasureGemm (X W^T, a linear layer's layout) in fp32 and bf16 at a
//    large square size and at every linear shape of the two models (tokens x in x out).
//    The peak of a dtype is the highest mean GFLOP/s among its measured shapes.
// 2. Workloads, timed as the median of --iters after one warm-up:
//    (a) a training step of the `small` preset (forward, summed next-token loss, backward,
//        global-norm clip, AdamW step), fp32;
//    (b) a profiling forward of the small preset: no grad, no logits (as the profiler
//        runs), all seven projection hooks and the MLP inputs of every layer active, a
//        consumer that sums each hooked tensor over tokens into a per-(layer, component)
//        fp32 accumulator (stands in for the profiler);
//    (c) a forward (with logits) of a random-weight model of Llama-3.2-3B's config, fp32,
//        batch 1; then the same forward as a profiling forward.
//    The compute dtype is fp32: what `auto` resolves to on a CPU without AMX-BF16 or
//    AVX512_BF16 (compute/dtype.h), because bf16 GEMMs are far slower there (printed).
// 3. MFU = achieved model FLOP/s / peak, against both the fp32 and the bf16 peak. Model
//    FLOPs: bench/model/model_flops.h (2 N_matmul + 4 L T H hd per token forward, x3 for
//    training; the profiling forward has no LM head).
// --quick: short peak windows, fewer shapes, one timed iteration, 16 tokens for the 3B.
#include <sys/resource.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/model/model_flops.h"
#include "common/status_macros.h"
#include "bench/bench_compute.h"
#include "compute/blas_kernels.h"
#include "compute/compute_info.h"
#include "compute/gemm_rate.h"
#include "fmt/format.h"
#include "model/checkpoint.h"
#include "model/hooks.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/presets.h"

namespace {

using nmoe::compute::ComputeDtype;
using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double PeakRssGiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}
double LoadAverage() {
  double l[3] = {0, 0, 0};
  return getloadavg(l, 3) >= 1 ? l[0] : -1;
}

// Stands in for the profiler: reduces every hooked activation over its tokens.
class SumOverTokens : public nmoe::model::ActivationHooks {
 public:
  explicit SumOverTokens(int64_t layers) : ActivationHooks(nmoe::model::HookMask::All(layers)) {}
  void OnActivation(int64_t layer, nmoe::model::Component c, const at::Tensor& out_BTC) override {
    const std::vector<int64_t> token_dims = {0, 1};
    at::Tensor s_C = out_BTC.detach().sum(token_dims, /*keepdim=*/false, at::kFloat);
    at::Tensor& acc_C = sums_[{layer, static_cast<int>(c)}];
    if (acc_C.defined()) {
      acc_C.add_(s_C);
    } else {
      acc_C = s_C;
    }
    ++calls_;
  }
  int64_t calls() const { return calls_; }

 private:
  std::map<std::pair<int64_t, int>, at::Tensor> sums_;
  int64_t calls_ = 0;
};

struct Peak {
  double fp32 = 0, bf16 = 0;
};

struct Workload {
  std::string name;
  int64_t tokens = 0;
  double flops_per_token = 0, seconds = 0;
  double Gflops() const { return static_cast<double>(tokens) * flops_per_token / seconds / 1e9; }
};

absl::StatusOr<double> Median(int warmup, int iters, const std::function<absl::Status()>& run) {
  for (int i = 0; i < warmup; ++i) NMOE_RETURN_IF_ERROR(run());
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    const auto t = Clock::now();
    NMOE_RETURN_IF_ERROR(run());
    times.push_back(Since(t));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

absl::Status MeasurePeak(ComputeDtype dtype, int64_t m, int64_t k, int64_t n, double seconds, const char* label,
                         Peak* peak) {
  NMOE_ASSIGN_OR_RETURN(auto r, nmoe::compute::MeasureGemm(dtype, m, n, k, seconds));
  fmt::print("  {:<5} {:>5} x {:>6} x {:>6}  {:<22} mean {:6.2f}  best {:6.2f} GFLOP/s\n",
             dtype == ComputeDtype::kFp32 ? "fp32" : "bf16", m, k, n, label, r.gflops, r.best_gflops);
  double& p = dtype == ComputeDtype::kFp32 ? peak->fp32 : peak->bf16;
  p = std::max(p, r.gflops);
  return absl::OkStatus();
}

absl::Status MeasureShapes(const nmoe::model::ModelConfig& c, const char* name, ComputeDtype dtype, int64_t m,
                           double seconds, Peak* peak) {
  for (const auto& [in, out] : nmoe::bench::LinearShapes(c)) {
    NMOE_RETURN_IF_ERROR(MeasurePeak(dtype, m, in, out, seconds, name, peak));
  }
  return absl::OkStatus();
}

void Report(const Workload& w, const Peak& peak) {
  const double g = w.Gflops();
  fmt::print("  {:<44} {:>6} tokens {:8.3f} s  {:8.1f} tokens/s  {:7.2f} GFLOP/s  MFU fp32 {:5.1f}%  bf16 {:7.1f}%\n",
             w.name, w.tokens, w.seconds, static_cast<double>(w.tokens) / w.seconds, g, 100 * g / peak.fp32,
             100 * g / peak.bf16);
}

int Fail(const absl::Status& s) {
  std::cerr << "bench_mfu: " << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);
  CLI::App app{"nmoe MFU benchmark: model FLOP/s over the measured GEMM peak"};
  bool quick = false, skip_3b = false;
  std::string config_3b = "bench/model/llama-3.2-3b.config.json", blas_flag;
  int64_t vocab = 8192, batch = 16, seq = 256, tokens_3b = 128, square = 4096, bf16_square = 2048;
  int threads = 2, iters = 3;
  double peak_seconds = 2.0;
  app.add_flag("--quick", quick, "Short run: smaller peak sizes and windows, 1 iteration, 16 tokens for the 3B");
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--vocab", vocab, "Vocabulary of the small preset")->capture_default_str();
  app.add_option("--batch", batch, "Small preset: sequences per step")->capture_default_str();
  app.add_option("--seq", seq, "Small preset: sequence length")->capture_default_str();
  app.add_option("--config-3b", config_3b, "config.json of the large model")->capture_default_str();
  app.add_option("--tokens-3b", tokens_3b, "Large model: sequence length (batch 1)")->capture_default_str();
  app.add_flag("--skip-3b", skip_3b, "Do not build the large model");
  app.add_option("--iters", iters)->capture_default_str();
  app.add_option("--peak-seconds", peak_seconds, "GEMM window per shape")->capture_default_str();
  app.add_option("--square", square, "fp32 square GEMM size")->capture_default_str();
  app.add_option("--bf16-square", bf16_square, "bf16 square GEMM size")->capture_default_str();
  app.add_option(nmoe::compute::kBlasKernelsFlag, blas_flag, nmoe::compute::kBlasKernelsFlagHelp);
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    iters = 1;
    peak_seconds = 0.3;
    square = 2048;
    bf16_square = 512;
    tokens_3b = 16;
  }

  auto info = nmoe::bench::InitBenchCompute(kernels, threads);
  if (!info.ok()) return Fail(info.status());
  fmt::print("load average at start {:.2f}\n", LoadAverage());

  auto small_or = nmoe::trainer::PresetConfig("small", vocab, 0, 1);
  if (!small_or.ok()) return Fail(small_or.status());
  const nmoe::model::ModelConfig small = *small_or;
  nmoe::model::ModelConfig big;
  if (!skip_3b) {
    auto c = nmoe::model::LoadModelConfig(config_3b);
    if (!c.ok()) return Fail(c.status());
    big = *c;
  }

  // 1. Peaks. bf16 is ~50x slower here: its model shapes use fewer tokens.
  Peak peak;
  fmt::print("GEMM peak (X W^T, {} threads; tokens x in x out):\n", at::get_num_threads());
  const auto peak_start = Clock::now();
  absl::Status s = MeasurePeak(ComputeDtype::kFp32, square, square, square, peak_seconds, "square", &peak);
  if (s.ok()) s = MeasureShapes(small, "small preset", ComputeDtype::kFp32, batch * seq, peak_seconds, &peak);
  if (s.ok() && !skip_3b) s = MeasureShapes(big, "3B", ComputeDtype::kFp32, tokens_3b, peak_seconds, &peak);
  if (s.ok()) s = MeasurePeak(ComputeDtype::kBf16, bf16_square, bf16_square, bf16_square, peak_seconds, "square", &peak);
  if (s.ok() && !quick) s = MeasureShapes(small, "small preset", ComputeDtype::kBf16, 512, peak_seconds, &peak);
  if (s.ok() && !quick && !skip_3b) s = MeasureShapes(big, "3B", ComputeDtype::kBf16, 16, peak_seconds, &peak);
  if (!s.ok()) return Fail(s);
  fmt::print("peak (highest mean): fp32 {:.2f} GFLOP/s, bf16 {:.2f} GFLOP/s ({:.0f} s)\n", peak.fp32, peak.bf16,
             Since(peak_start));

  // 2. Workloads.
  std::vector<Workload> done;
  at::Generator gen = at::detail::createCPUGenerator(3);
  {
    auto lm_or = nmoe::model::NewRandomModel(small, 1, {});
    if (!lm_or.ok()) return Fail(lm_or.status());
    std::shared_ptr<nmoe::model::CausalLm> lm = *lm_or;
    const at::Tensor ids = at::randint(0, small.vocab_size, {batch, seq + 1}, gen, at::kLong);
    nmoe::trainer::Batch b;
    b.ids_BT = ids.narrow(1, 0, seq).contiguous();
    b.targets_BT = ids.narrow(1, 1, seq).contiguous();
    b.predicted_tokens = batch * seq;
    auto adamw = nmoe::trainer::BuildAdamW(*lm, {});
    const auto params = lm->parameters();
    auto step = [&]() -> absl::Status {
      for (auto& p : params) p.mutable_grad() = at::Tensor();
      NMOE_ASSIGN_OR_RETURN(at::Tensor loss, nmoe::trainer::LmLossSum(*lm, b));
      loss.div(static_cast<double>(b.predicted_tokens)).backward();
      std::vector<at::Tensor> norms;
      for (auto& p : params) norms.push_back(p.grad().norm());
      const double norm = at::stack(norms).norm().item<double>();
      if (norm > 1.0) {
        for (auto& p : params) p.grad().mul_(1.0 / norm);
      }
      adamw->step();
      return absl::OkStatus();
    };
    auto t = Median(1, iters, step);
    if (!t.ok()) return Fail(t.status());
    done.push_back({fmt::format("(a) small: training step, batch {}x{}", batch, seq), batch * seq,
                    nmoe::bench::FlopsPerToken(small, seq, true), *t});
    Report(done.back(), peak);

    auto hooks = std::make_shared<SumOverTokens>(small.num_hidden_layers);
    lm->SetHooks(hooks);
    nmoe::model::ForwardOptions no_logits;
    no_logits.compute_logits = false;
    auto profile = [&]() -> absl::Status {
      torch::NoGradGuard no_grad;
      return lm->Forward(b.ids_BT, no_logits).status();
    };
    t = Median(1, iters, profile);
    if (!t.ok()) return Fail(t.status());
    if (hooks->calls() != (iters + 1) * small.num_hidden_layers * nmoe::model::kNumComponents) {
      return Fail(absl::InternalError(fmt::format("hooks ran {} times", hooks->calls())));
    }
    done.push_back({fmt::format("(b) small: profiling forward, batch {}x{}", batch, seq), batch * seq,
                    nmoe::bench::FlopsPerToken(small, seq, false, /*with_head=*/false), *t});
    Report(done.back(), peak);
  }
  if (!skip_3b) {
    const auto build_start = Clock::now();
    auto lm_or = nmoe::model::NewRandomModel(big, 1, {});
    if (!lm_or.ok()) return Fail(lm_or.status());
    std::shared_ptr<nmoe::model::CausalLm> lm = *lm_or;
    fmt::print("  3B: {:.3f}B parameters (fp32), built in {:.1f} s, peak RSS {:.2f} GiB\n",
               static_cast<double>(big.NumParameters()) / 1e9, Since(build_start), PeakRssGiB());
    const at::Tensor ids = at::randint(0, big.vocab_size, {1, tokens_3b}, gen, at::kLong);
    auto forward = [&]() -> absl::Status {
      torch::NoGradGuard no_grad;
      return lm->Forward(ids).status();
    };
    auto t = Median(1, iters, forward);
    if (!t.ok()) return Fail(t.status());
    done.push_back({fmt::format("(c) 3B: forward, batch 1x{}", tokens_3b), tokens_3b,
                    nmoe::bench::FlopsPerToken(big, tokens_3b, false), *t});
    Report(done.back(), peak);

    lm->SetHooks(std::make_shared<SumOverTokens>(big.num_hidden_layers));
    nmoe::model::ForwardOptions no_logits;
    no_logits.compute_logits = false;
    auto profile = [&]() -> absl::Status {
      torch::NoGradGuard no_grad;
      return lm->Forward(ids, no_logits).status();
    };
    t = Median(1, iters, profile);
    if (!t.ok()) return Fail(t.status());
    done.push_back({fmt::format("(b') 3B: profiling forward, batch 1x{}", tokens_3b), tokens_3b,
                    nmoe::bench::FlopsPerToken(big, tokens_3b, false, /*with_head=*/false), *t});
    Report(done.back(), peak);
  }

  fmt::print("summary (fp32 compute, {} threads; peak fp32 {:.2f}, bf16 {:.2f} GFLOP/s; load average at end {:.2f}; "
             "peak RSS {:.2f} GiB):\n",
             at::get_num_threads(), peak.fp32, peak.bf16, LoadAverage(), PeakRssGiB());
  for (const auto& w : done) Report(w, peak);
  return 0;
}
