// bench_gemm: fp32 and bf16 GEMM throughput through LibTorch, per OpenBLAS
// kernel family, at a large square size and at model shapes, with the
// relative error of each product against a float64 reference.
//
// OPENBLAS_CORETYPE is read when OpenBLAS loads, so each family runs in its
// own child process (this binary with --child): "auto" = what nmoe chooses at
// start (EnsureBestBlasKernels), "default" = the library's own choice, any
// other name = OPENBLAS_CORETYPE=<name>. Every child uses the same threads.
// A shape MxKxN is tokens x in-features x out-features: C = X (M x K) * W^T,
// W (N x K), a linear layer. See bench/README.md.
#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "compute/blas_kernels.h"
#include "compute/blas_probe.h"
#include "compute/compute_info.h"
#include "compute/cpu_features.h"
#include "compute/threads.h"

namespace nmoe::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  int64_t m, k, n;
};

std::vector<Shape> ParseShapes(const std::string& text) {
  std::vector<Shape> shapes;
  for (absl::string_view s : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> dims = absl::StrSplit(s, 'x');
    Shape shape{};
    if (dims.size() != 3 || !absl::SimpleAtoi(dims[0], &shape.m) || !absl::SimpleAtoi(dims[1], &shape.k) ||
        !absl::SimpleAtoi(dims[2], &shape.n) || shape.m <= 0 || shape.k <= 0 || shape.n <= 0) {
      throw CLI::ValidationError("--shapes", fmt::format("'{}' is not MxKxN with positive sizes", std::string(s)));
    }
    shapes.push_back(shape);
  }
  return shapes;
}

// Normwise relative error of `out_MN` over `samples` random entries, each
// recomputed as a float64 dot product of the (already rounded) inputs.
double SampledRelError(const torch::Tensor& x_MK, const torch::Tensor& w_NK, const torch::Tensor& out_MN,
                       int samples) {
  const torch::Tensor x = x_MK.to(torch::kFloat64).contiguous();
  const torch::Tensor w = w_NK.to(torch::kFloat64).contiguous();
  const torch::Tensor out = out_MN.to(torch::kFloat64).contiguous();
  const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  const double* xp = x.data_ptr<double>();
  const double* wp = w.data_ptr<double>();
  const double* op = out.data_ptr<double>();
  std::mt19937_64 rng(7);
  double diff2 = 0, ref2 = 0;
  for (int s = 0; s < samples; ++s) {
    const int64_t i = static_cast<int64_t>(rng() % m), j = static_cast<int64_t>(rng() % n);
    double ref = 0;
    for (int64_t p = 0; p < k; ++p) ref += xp[i * k + p] * wp[j * k + p];
    diff2 += (op[i * n + j] - ref) * (op[i * n + j] - ref);
    ref2 += ref * ref;
  }
  return std::sqrt(diff2 / ref2);
}

nlohmann::json Measure(torch::ScalarType dtype, const Shape& s, double min_seconds) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  const torch::Tensor x_MK = (torch::rand({s.m, s.k}) * 2 - 1).to(dtype);
  const torch::Tensor w_NK = (torch::rand({s.n, s.k}) * 2 - 1).to(dtype);
  torch::Tensor out_MN = torch::empty({s.m, s.n}, torch::TensorOptions().dtype(dtype));
  at::mm_out(out_MN, x_MK, w_NK.t());  // warm-up
  int iterations = 0;
  const auto start = Clock::now();
  double seconds = 0, best = std::numeric_limits<double>::infinity();
  while (iterations < 1 || seconds < min_seconds) {
    const auto t0 = Clock::now();
    at::mm_out(out_MN, x_MK, w_NK.t());
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    ++iterations;
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
  }
  const double flop = 2.0 * s.m * s.k * s.n;
  return {{"dtype", dtype == torch::kBFloat16 ? "bf16" : "fp32"},
          {"shape", fmt::format("{}x{}x{}", s.m, s.k, s.n)},
          {"iterations", iterations},
          {"seconds", seconds},
          {"gflops", flop * iterations / seconds / 1e9},
          // The fastest single product: on a shared machine, the closest to what the cores can do.
          {"best_gflops", flop / best / 1e9},
          {"rel_err", SampledRelError(x_MK, w_NK, out_MN, 256)}};
}

// Child: set threads, measure, print one JSON line per measurement.
int RunChild(int argc, char** argv, const std::string& shapes_text, const std::string& dtypes, int threads,
             double seconds) {
  const compute::BlasKernelReport kernels = compute::EnsureBestBlasKernels(argc, argv);
  const compute::CpuFeatures cpu = compute::DetectCpuFeatures();
  auto applied = compute::ApplyThreads({threads, 1, 1}, cpu.usable_cpus);
  if (!applied.ok()) {
    std::fprintf(stderr, "bench_gemm: %s\n", applied.status().ToString().c_str());
    return 2;
  }
  const compute::BlasInfo blas = compute::ProbeBlas();
  for (const Shape& s : ParseShapes(shapes_text)) {
    for (absl::string_view d : absl::StrSplit(dtypes, ',', absl::SkipEmpty())) {
      nlohmann::json row = Measure(d == "bf16" ? torch::kBFloat16 : torch::kFloat32, s, seconds);
      row["kernel"] = blas.corename.empty() ? compute::BlasKindName(blas.kind) : blas.corename;
      row["kernel_action"] = kernels.action;
      row["threads"] = applied->intra_op;
      std::printf("ROW %s\n", row.dump().c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

std::string SelfPath() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// Runs one child for `family`; returns its rows.
std::vector<nlohmann::json> RunFamily(const std::string& family, const std::string& shapes, const std::string& dtypes,
                                      int threads, double seconds) {
  std::string env = "env -u OPENBLAS_CORETYPE -u NMOE_BLAS_REEXEC -u NMOE_BLAS_SAVED_CORETYPE";
  if (family == "auto") {
    env += " NMOE_BLAS_KERNELS=auto";
  } else if (family == "default") {
    env += " NMOE_BLAS_KERNELS=off";
  } else {
    env += fmt::format(" NMOE_BLAS_KERNELS=off OPENBLAS_CORETYPE={}", family);
  }
  const std::string cmd = fmt::format("{} '{}' --child --shapes {} --dtypes {} --threads {} --seconds {}", env,
                                      SelfPath(), shapes, dtypes, threads, seconds);
  std::vector<nlohmann::json> rows;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return rows;
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) {
    std::string line = buf;
    if (line.rfind("ROW ", 0) != 0) continue;
    nlohmann::json row = nlohmann::json::parse(line.substr(4));
    row["family"] = family;
    std::printf("  %-8s %-9s %-5s %-16s mean %8.1f  best %8.1f GFLOP/s  rel err %.2g  (%d x, %.2f s)\n",
                family.c_str(), row["kernel"].get<std::string>().c_str(), row["dtype"].get<std::string>().c_str(),
                row["shape"].get<std::string>().c_str(), row["gflops"].get<double>(),
                row["best_gflops"].get<double>(), row["rel_err"].get<double>(), row["iterations"].get<int>(),
                row["seconds"].get<double>());
    std::fflush(stdout);
    rows.push_back(row);
  }
  const int status = pclose(pipe);
  if (status != 0) std::fprintf(stderr, "bench_gemm: child for %s exited with status %d\n", family.c_str(), status);
  return rows;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

}  // namespace
}  // namespace nmoe::bench

int main(int argc, char** argv) {
  using namespace nmoe::bench;
  CLI::App app{"fp32/bf16 GEMM throughput per OpenBLAS kernel family (bench/README.md)"};
  std::string families = "Prescott,auto", shapes = "4096x4096x4096,2048x256x1024,512x3072x8192";
  std::string dtypes = "fp32", bf16_family = "auto";
  int threads = 0;
  double seconds = 1.0;
  bool child = false;
  std::string blas_kernels;
  app.add_option("--families", families, "comma-separated: auto, default, or OpenBLAS core names");
  app.add_option("--shapes", shapes, "comma-separated MxKxN (tokens x in x out)");
  app.add_option("--threads", threads, "intra-op and BLAS threads in every child (0 = usable CPUs)");
  app.add_option("--seconds", seconds, "minimum timed seconds per measurement (at least one product)");
  app.add_option("--bf16-family", bf16_family, "the family whose child also measures bf16 (bf16 skips OpenBLAS)");
  app.add_flag("--child", child, "internal: measure in this process");
  app.add_option("--dtypes", dtypes, "internal: dtypes the child measures");
  app.add_option(nmoe::compute::kBlasKernelsFlag, blas_kernels, nmoe::compute::kBlasKernelsFlagHelp);
  CLI11_PARSE(app, argc, argv);
  const nmoe::compute::CpuFeatures cpu = nmoe::compute::DetectCpuFeatures();
  if (threads <= 0) threads = cpu.usable_cpus;
  if (child) return RunChild(argc, argv, shapes, dtypes, threads, seconds);

  ParseShapes(shapes);  // validate before starting children
  std::printf("bench_gemm: %s; %d threads; shapes %s; >= %.1f s per point\n",
              nmoe::compute::DescribeCpu(cpu).c_str(), threads, shapes.c_str(), seconds);
  std::printf("  load average %s; defaults before nmoe sets threads: LibTorch intra-op %d, inter-op %d; %s\n",
              LoadAverage().c_str(), at::get_num_threads(), at::get_num_interop_threads(),
              nmoe::compute::DescribeBlas(nmoe::compute::ProbeBlas()).c_str());
  // The start-up path of a model process, for comparison with the figures below.
  const nmoe::compute::BlasKernelReport kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);
  nmoe::compute::ComputeOptions startup;
  startup.threads.intra_op = threads;
  if (auto info = nmoe::compute::InitCompute(kernels, startup); !info.ok()) {
    std::fprintf(stderr, "bench_gemm: %s\n", info.status().ToString().c_str());
  }
  std::vector<nlohmann::json> all;
  for (absl::string_view f : absl::StrSplit(families, ',', absl::SkipEmpty())) {
    const std::string family(f);
    const std::string child_dtypes = family == bf16_family ? "fp32,bf16" : "fp32";
    for (auto& row : RunFamily(family, shapes, child_dtypes, threads, seconds)) all.push_back(row);
  }
  std::printf("JSON %s\n", nlohmann::json(all).dump().c_str());
  return 0;
}
