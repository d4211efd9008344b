// Grouped dispatch (model::MoeMlp) against naive loops over experts, for one MoE layer
// forward + backward (issue 6).
//
//   bench_moe_dispatch --tokens 4096 --hidden 192 --mlp 512 --experts 2,4,6 --top-k 2
//                      --threads 2 --iters 5 --warmup 1
//
// Three implementations of the same layer, on the same weights (one MoeMlp: its router
// and its SwiGluMlp experts) and the same routing (fp32 softmax, top-k, renormalised):
//   grouped  MoeMlp::Forward: the N*k (token, slot) pairs sorted by expert, one
//            index_select + expert MLP + index_add per expert over its own tokens.
//   masked   the naive masked loop (what most reference code does): for each expert a
//            boolean mask of the tokens that chose it, nonzero(), index_select, the
//            expert MLP, index_add. Same FLOPs as grouped; costs one E-wide compare and
//            nonzero per expert instead of one sort.
//   dense    every expert over every token, each output multiplied by the token's
//            combine weight for that expert (0 when not chosen), summed: E/k times the
//            expert FLOPs. What "not a dense pass of every token through every expert"
//            rules out.
// The naive versions live here only. Every iteration runs forward, then backward of
// sum(out * g) with a fixed random g, so the router, every expert weight and the
// input get gradients (stage 1 trains experts and routers; earlier MoE layers need the
// input's). Experts hold distinct random weights (not upcycled copies), so a wrong
// dispatch shows in the check: outputs and all gradients of masked and dense are
// compared with grouped's (max |difference| / max |grouped value|) before timing.
// Timing: the implementations take turns within each iteration (the order rotates),
// so a loaded machine slows all of them alike; medians over --iters of the wall time
// and of the process CPU time (the work, which a shared machine's waits do not inflate).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/bench_compute.h"
#include "compute/blas_kernels.h"
#include "compute/compute_info.h"
#include "fmt/format.h"
#include "model/moe_mlp.h"

namespace {

using Clock = std::chrono::steady_clock;
using nmoe::model::MoeMlp;

struct Routing {
  at::Tensor experts_NK;  // int64 chosen experts
  at::Tensor combine_NE;  // fp32 renormalised weight of each chosen expert, 0 elsewhere
};

// MoeMlp's routing, written again from its contract (moe_mlp.h).
Routing Route(MoeMlp& layer, const at::Tensor& x_ND) {
  const int64_t E = layer.num_experts();
  const int64_t K = std::min(layer.top_k(), E);
  const at::Tensor probs_NE = at::softmax(at::matmul(x_ND.to(at::kFloat), layer.router().weight_OI().to(at::kFloat).t()), -1);
  auto [top_NK, experts_NK] = probs_NE.topk(K, -1);
  const at::Tensor weights_NK = top_NK / top_NK.sum(-1, /*keepdim=*/true);
  return {experts_NK, at::zeros_like(probs_NE).scatter(1, experts_NK, weights_NK)};
}

at::Tensor Grouped(MoeMlp& layer, const at::Tensor& x_ND) {
  return layer.Forward(x_ND.unsqueeze(0), nmoe::model::LayerContext{}).squeeze(0);
}

at::Tensor Masked(MoeMlp& layer, const at::Tensor& x_ND) {
  const Routing r = Route(layer, x_ND);
  at::Tensor out_ND = at::zeros_like(x_ND);
  for (int64_t e = 0; e < layer.num_experts(); ++e) {
    const at::Tensor tokens_C = r.experts_NK.eq(e).any(1).nonzero().squeeze(1);
    if (tokens_C.numel() == 0) continue;
    const at::Tensor w_C1 = r.combine_NE.index_select(0, tokens_C).select(1, e).unsqueeze(1);
    const at::Tensor y_CD = layer.expert(e).Forward(x_ND.index_select(0, tokens_C), nmoe::model::LayerContext{});
    out_ND = out_ND.index_add(0, tokens_C, y_CD * w_C1);
  }
  return out_ND;
}

at::Tensor Dense(MoeMlp& layer, const at::Tensor& x_ND) {
  const Routing r = Route(layer, x_ND);
  at::Tensor out_ND = at::zeros_like(x_ND);
  for (int64_t e = 0; e < layer.num_experts(); ++e) {
    out_ND = out_ND + layer.expert(e).Forward(x_ND, nmoe::model::LayerContext{}) * r.combine_NE.select(1, e).unsqueeze(1);
  }
  return out_ND;
}

// CPU seconds of the process (every thread): the work, where wall time also holds the
// waits for a core on a shared machine.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Impl {
  std::string name;
  std::function<at::Tensor(MoeMlp&, const at::Tensor&)> forward;
  std::vector<double> seconds, cpu_seconds;
  std::vector<at::Tensor> results;  // out, x.grad, then every parameter's grad
};

// Forward + backward of sum(out * g); returns the output and the gradients.
std::vector<at::Tensor> RunOnce(Impl& impl, MoeMlp& layer, const at::Tensor& x_ND, const at::Tensor& g_ND) {
  for (auto& p : layer.parameters()) p.mutable_grad() = at::Tensor();
  at::Tensor x = x_ND.detach().requires_grad_(true);
  at::Tensor out = impl.forward(layer, x);
  out.backward(g_ND);
  std::vector<at::Tensor> got = {out.detach(), x.grad()};
  for (auto& p : layer.parameters()) got.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
  return got;
}

int Fail(const std::string& what) {
  std::cerr << "bench_moe_dispatch: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);
  CLI::App app{"nmoe MoE dispatch benchmark"};
  std::string experts_text = "2,4,6", impls_text = "grouped,masked,dense", blas_flag;
  int64_t tokens = 4096, hidden = 192, mlp = 512, top_k = 2;
  int threads = 2, iters = 5, warmup = 1;
  double tolerance = 1e-5;
  app.add_option("--tokens", tokens, "N = batch x sequence")->capture_default_str();
  app.add_option("--hidden", hidden)->capture_default_str();
  app.add_option("--mlp", mlp, "Intermediate size of an expert")->capture_default_str();
  app.add_option("--experts", experts_text, "Expert counts to run, comma-separated")->capture_default_str();
  app.add_option("--impls", impls_text, "Among grouped,masked,dense")->capture_default_str();
  app.add_option("--top-k", top_k)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--iters", iters)->capture_default_str();
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_option("--tolerance", tolerance, "Max relative difference of the check")->capture_default_str();
  app.add_option(nmoe::compute::kBlasKernelsFlag, blas_flag, nmoe::compute::kBlasKernelsFlagHelp);
  CLI11_PARSE(app, argc, argv);
  if (iters < 1) return Fail("--iters must be >= 1");

  auto info = nmoe::bench::InitBenchCompute(kernels, threads);
  if (!info.ok()) return Fail(info.status().ToString());

  nmoe::model::ModelConfig config;
  config.hidden_size = hidden;
  config.intermediate_size = mlp;
  bool failed = false;
  for (absl::string_view part : absl::StrSplit(experts_text, ',')) {
    int64_t E = 0;
    if (!absl::SimpleAtoi(part, &E) || E < 1) return Fail("--experts: not a list of positive integers");
    std::vector<Impl> impls;
    for (absl::string_view name : absl::StrSplit(impls_text, ',')) {
      if (name == "grouped") impls.push_back({"grouped", Grouped, {}, {}, {}});
      else if (name == "masked") impls.push_back({"masked", Masked, {}, {}, {}});
      else if (name == "dense") impls.push_back({"dense", Dense, {}, {}, {}});
      else return Fail("--impls: unknown implementation " + std::string(name));
    }
    MoeMlp layer(config, E, top_k, at::TensorOptions().dtype(at::kFloat));
    at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(11 + E));
    {
      torch::NoGradGuard no_grad;
      for (auto& p : layer.named_parameters()) {
        const bool router = p.key().find("router") != std::string::npos;
        p.value().normal_(0.0, router ? 1.0 / std::sqrt(static_cast<double>(hidden)) : 0.02, gen);
      }
    }
    const at::Tensor x_ND = at::randn({tokens, hidden}, gen);
    const at::Tensor g_ND = at::randn({tokens, hidden}, gen);
    const at::Tensor counts_E = at::bincount(Route(layer, x_ND).experts_NK.reshape({-1}), {}, E);

    // Correctness first: every implementation against the first (grouped).
    for (Impl& impl : impls) impl.results = RunOnce(impl, layer, x_ND, g_ND);
    std::string check;
    for (size_t i = 1; i < impls.size(); ++i) {
      double worst = 0;
      for (size_t j = 0; j < impls[0].results.size(); ++j) {
        const at::Tensor& ref = impls[0].results[j];
        const double scale = std::max(ref.abs().max().item<double>(), 1e-30);
        worst = std::max(worst, (impls[i].results[j] - ref).abs().max().item<double>() / scale);
      }
      check += fmt::format("{} {} vs {}: max relative difference {:.2e} over the output and {} gradients",
                           worst <= tolerance ? "OK" : "MISMATCH", impls[i].name, impls[0].name, worst,
                           impls[0].results.size() - 1);
      check += i + 1 < impls.size() ? "; " : "";
      if (worst > tolerance) failed = true;
    }
    for (Impl& impl : impls) impl.results.clear();

    for (int w = 0; w < warmup; ++w) {
      for (Impl& impl : impls) RunOnce(impl, layer, x_ND, g_ND);
    }
    for (int it = 0; it < iters; ++it) {
      for (size_t k = 0; k < impls.size(); ++k) {
        Impl& impl = impls[(k + static_cast<size_t>(it)) % impls.size()];
        const auto t = Clock::now();
        const double cpu = ProcessCpuSeconds();
        RunOnce(impl, layer, x_ND, g_ND);
        impl.seconds.push_back(std::chrono::duration<double>(Clock::now() - t).count());
        impl.cpu_seconds.push_back(ProcessCpuSeconds() - cpu);
      }
    }
    std::vector<int64_t> counts(counts_E.data_ptr<int64_t>(), counts_E.data_ptr<int64_t>() + E);
    fmt::print("E {} (top-{}), N {}, D {}, F {}, threads {}: slots per expert [{}]\n", E, std::min(top_k, E), tokens,
               hidden, mlp, at::get_num_threads(), fmt::join(counts, " "));
    fmt::print("  check: {}\n", check.empty() ? "(one implementation)" : check);
    const double first_wall = Median(impls[0].seconds), first_cpu = Median(impls[0].cpu_seconds);
    for (Impl& impl : impls) {
      const double wall = Median(impl.seconds), cpu = Median(impl.cpu_seconds);
      fmt::print("  {:<8} median {:9.4f} s (best {:9.4f}), CPU {:9.4f} s -> {:5.2f}x / {:5.2f}x the {} wall / CPU time\n",
                 impl.name, wall, *std::min_element(impl.seconds.begin(), impl.seconds.end()), cpu,
                 wall / first_wall, cpu / first_cpu, impls[0].name);
      fmt::print("JSON {{\"impl\": \"{}\", \"experts\": {}, \"top_k\": {}, \"tokens\": {}, \"hidden\": {}, \"mlp\": {}, "
                 "\"threads\": {}, \"seconds\": {:.6f}, \"cpu_seconds\": {:.6f}}}\n",
                 impl.name, E, std::min(top_k, E), tokens, hidden, mlp, at::get_num_threads(), wall, cpu);
    }
    std::cout.flush();
  }
  return failed ? 2 : 0;
}
