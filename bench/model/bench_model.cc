// Speed, memory and model FLOP/s utilisation (MFU) of the C++ decoder.
//
//   bench_model --preset small --batch 16 --seq 256 --threads 2 --dtype fp32 --mode train
//   bench_model --config llama-3.2-3b.json --weights bf16 --mode forward --batch 1 --seq 32
//
// Modes: forward (no grad), train (forward + summed next-token loss + backward: the
// Python peer bench/model/peer_llama.py does the same), step (train + gradient clipping
// + AdamW step: a full training step). --dtype bf16 = CPU autocast over fp32 weights;
// --weights bf16 builds the model in bf16 (forward only).
// MFU = model FLOP/s / peak, model FLOPs per token (PaLM's convention, causal mask not
// discounted): forward 2 N + 4 L T H d, training 6 N + 12 L T H d, where N counts the
// matmul weights (every projection and the LM head; embeddings lookups are free) and
// H d = the attention width. Peak = compute::MeasureGemm at 2048^3 in the dtype
// (--peak-seconds each; fp32 and bf16 are both printed).
// --write-config PATH writes the model's config.json (for the Python peer).
#include <sys/resource.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/model/model_flops.h"
#include "bench/bench_compute.h"
#include "compute/blas_kernels.h"
#include "compute/compute_info.h"
#include "compute/gemm_rate.h"
#include "fmt/format.h"
#include "model/autocast.h"
#include "model/checkpoint.h"
#include "model/init.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/presets.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double PeakRssGiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}

// Self time per op over the profiled events (LibTorch's legacy profiler), top `rows`.
void PrintOpTable(const torch::autograd::profiler::thread_event_lists& lists, int iterations, size_t rows) {
  using torch::autograd::profiler::EventKind;
  using torch::autograd::profiler::LegacyEvent;
  struct Total {
    double self_us = 0;
    int64_t calls = 0;
  };
  std::map<std::string, Total> totals;
  double all_us = 0;
  for (const auto& list : lists) {
    struct Open {
      const LegacyEvent* push;
      double children_us;
    };
    std::vector<Open> stack;
    for (const LegacyEvent& e : list) {
      if (e.kind() == EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double total_us = open.push->cpuElapsedUs(e);
        Total& t = totals[open.push->name()];
        t.self_us += total_us - open.children_us;
        ++t.calls;
        if (!stack.empty()) {
          stack.back().children_us += total_us;
        } else {
          all_us += total_us;
        }
      }
    }
  }
  std::vector<std::pair<std::string, Total>> sorted(totals.begin(), totals.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  fmt::print("profile: {:.1f} ms per iteration in ops; self time by op:\n", all_us / 1000.0 / iterations);
  for (size_t i = 0; i < std::min(rows, sorted.size()); ++i) {
    fmt::print("  {:<48} {:9.1f} ms {:6.1f}% {:7} calls\n", sorted[i].first, sorted[i].second.self_us / 1000.0 / iterations,
               100.0 * sorted[i].second.self_us / all_us, sorted[i].second.calls / iterations);
  }
}

int Fail(const absl::Status& s) {
  std::cerr << "bench_model: " << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);
  CLI::App app{"nmoe model benchmark"};
  std::string preset = "small", config_path, mode = "train", dtype = "fp32", weights = "fp32", write_config,
              blas_flag;
  int64_t vocab = 8192, batch = 16, seq = 256;
  int threads = 2, iters = 5, warmup = 1, profile = 0;
  double peak_seconds = 2.0;
  app.add_option("--preset", preset, "Model preset (trainer/presets.h)")->capture_default_str();
  app.add_option("--vocab", vocab, "Vocabulary of the preset")->capture_default_str();
  app.add_option("--config", config_path, "A Hugging Face config.json instead of a preset");
  app.add_option("--mode", mode, "forward | train | step")->capture_default_str();
  app.add_option("--dtype", dtype, "fp32 | bf16 (CPU autocast)")->capture_default_str();
  app.add_option("--weights", weights, "fp32 | bf16 (model built in bf16; forward only)")->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--seq", seq)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--iters", iters)->capture_default_str();
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_option("--peak-seconds", peak_seconds, "GEMM peak measurement per dtype; 0 = skip")->capture_default_str();
  app.add_option("--write-config", write_config, "Write the model's config.json here");
  app.add_option("--profile", profile, "Then run N more iterations under LibTorch's profiler: self time by op");
  app.add_option(nmoe::compute::kBlasKernelsFlag, blas_flag, nmoe::compute::kBlasKernelsFlagHelp);
  CLI11_PARSE(app, argc, argv);

  auto info = nmoe::bench::InitBenchCompute(kernels, threads);
  if (!info.ok()) return Fail(info.status());

  nmoe::model::ModelConfig config;
  if (!config_path.empty()) {
    auto c = nmoe::model::LoadModelConfig(config_path);
    if (!c.ok()) return Fail(c.status());
    config = *c;
  } else {
    auto c = nmoe::trainer::PresetConfig(preset, vocab, 0, 1);
    if (!c.ok()) return Fail(c.status());
    config = *c;
  }
  if (!write_config.empty()) {
    if (auto s = nmoe::model::SaveModelConfig(config, write_config); !s.ok()) return Fail(s);
  }
  const bool bf16_weights = weights == "bf16";
  const bool autocast = dtype == "bf16";
  if (bf16_weights && mode != "forward") return Fail(absl::InvalidArgumentError("--weights bf16 is forward-only"));

  const auto build_start = Clock::now();
  nmoe::model::LoadModelOptions load;
  load.dtype = bf16_weights ? c10::kBFloat16 : c10::kFloat;
  auto lm_or = nmoe::model::NewRandomModel(config, 1, load);
  if (!lm_or.ok()) return Fail(lm_or.status());
  std::shared_ptr<nmoe::model::CausalLm> lm = *lm_or;
  const double build_seconds = Since(build_start);
  const double rss_model = PeakRssGiB();

  // Model FLOPs per token (bench/model/model_flops.h).
  const bool training = mode != "forward";
  const double flops_per_token = nmoe::bench::FlopsPerToken(config, seq, training);

  at::Generator gen = at::detail::createCPUGenerator(3);
  const at::Tensor ids = at::randint(0, config.vocab_size, {batch, seq + 1}, gen, at::kLong);
  nmoe::trainer::Batch b;
  b.ids_BT = ids.narrow(1, 0, seq).contiguous();
  b.targets_BT = ids.narrow(1, 1, seq).contiguous();
  b.predicted_tokens = batch * seq;

  std::unique_ptr<torch::optim::AdamW> adamw;
  if (mode == "step") adamw = nmoe::trainer::BuildAdamW(*lm, {});
  const auto params = lm->parameters();
  auto run_once = [&]() -> absl::Status {
    if (!training) {
      torch::NoGradGuard no_grad;
      nmoe::model::CpuAutocast guard(autocast);
      auto out = lm->Forward(b.ids_BT);
      return out.status();
    }
    for (auto& p : params) p.mutable_grad() = at::Tensor();
    at::Tensor loss;
    {
      nmoe::model::CpuAutocast guard(autocast);
      auto s = nmoe::trainer::LmLossSum(*lm, b);
      if (!s.ok()) return s.status();
      loss = *s;
    }
    loss.backward();
    if (mode == "step") {
      std::vector<at::Tensor> norms;
      for (auto& p : params) norms.push_back(p.grad().norm());
      const double norm = at::stack(norms).norm().item<double>();
      if (norm > 1.0) {
        for (auto& p : params) p.grad().mul_(1.0 / norm);
      }
      adamw->step();
    }
    return absl::OkStatus();
  };
  for (int i = 0; i < warmup; ++i) {
    if (auto s = run_once(); !s.ok()) return Fail(s);
  }
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    const auto t = Clock::now();
    if (auto s = run_once(); !s.ok()) return Fail(s);
    times.push_back(Since(t));
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double tokens_per_s = static_cast<double>(batch * seq) / median;
  const double achieved = tokens_per_s * flops_per_token / 1e9;

  fmt::print("model: {} layers, hidden {}, heads {} (kv {}), MLP {}, vocab {}: {:.3f}B parameters, {:.2f} GFLOP/token\n",
             config.num_hidden_layers, config.hidden_size, config.num_attention_heads, config.num_key_value_heads,
             config.intermediate_size, config.vocab_size, static_cast<double>(config.NumParameters()) / 1e9,
             flops_per_token / 1e9);
  fmt::print("build: {:.1f} s ({} weights), peak RSS after build {:.2f} GiB, after the runs {:.2f} GiB\n",
             build_seconds, bf16_weights ? "bf16" : "fp32", rss_model, PeakRssGiB());
  fmt::print("{} {} (threads {}): batch {} x {} tokens, median {:.4f} s (best {:.4f}) -> {:.1f} tokens/s, {:.2f} GFLOP/s\n",
             mode, autocast ? "bf16 autocast" : (bf16_weights ? "bf16 weights" : "fp32"), at::get_num_threads(), batch,
             seq, median, times.front(), tokens_per_s, achieved);
  if (profile > 0) {
    torch::autograd::profiler::enableProfilerLegacy(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    for (int i = 0; i < profile; ++i) {
      if (auto s = run_once(); !s.ok()) return Fail(s);
    }
    PrintOpTable(torch::autograd::profiler::disableProfilerLegacy(), profile, 25);
  }
  if (peak_seconds > 0) {
    for (auto dt : {nmoe::compute::ComputeDtype::kFp32, nmoe::compute::ComputeDtype::kBf16}) {
      auto peak = nmoe::compute::MeasureGemm(dt, 2048, 2048, 2048, peak_seconds);
      if (!peak.ok()) return Fail(peak.status());
      fmt::print("peak {} -> MFU {:.1f}%\n", nmoe::compute::DescribeGemmRate(*peak), 100.0 * achieved / peak->gflops);
    }
  }
  fmt::print("JSON {{\"impl\": \"cpp\", \"mode\": \"{}\", \"dtype\": \"{}\", \"threads\": {}, \"batch\": {}, \"seq\": {}, "
             "\"seconds_per_iter\": {:.6f}, \"tokens_per_s\": {:.2f}, \"gflops\": {:.3f}, \"peak_rss_gib\": {:.3f}}}\n",
             mode, autocast ? "bf16" : (bf16_weights ? "bf16-weights" : "fp32"), at::get_num_threads(), batch, seq,
             median, tokens_per_s, achieved, PeakRssGiB());
  return 0;
}
