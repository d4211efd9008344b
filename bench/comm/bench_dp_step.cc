// The per-step time gradient synchronisation adds to data-parallel training
// (issue 4, "Benchmark"): training steps of a preset model (default `small`) with
// 1 rank and with W ranks, each rank a separate process with its own intra-op
// threads and the same per-rank batch (weak scaling: the global batch grows with W).
// Ranks rendezvous through a temporary folder (file_rendezvous_store.h) and sum
// through a real Gloo communicator with trainer::DataParallel, as a gang's pretrain
// does; dp_step_rank.h has the step. Prints a Markdown table of per-phase medians
// and p90s, then checks that every rank ended with rank 0's parameters.
//
//   OMP_WAIT_POLICY=passive bench_dp_step [--world 1,2] [--steps 20] [--warmup 2]
//       [--batch 4] [--seq 256] [--bucket-mb 16] [--threads 1] [--preset small]
//       [--split-wait 0|1]
//
// --split-wait 1 adds a barrier after backward (not on the training path) so that
// the ranks' skew shows apart from the transfer. Exit 1 when a rank fails or the
// ranks' parameters differ.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/comm/dp_step_rank.h"

namespace {

namespace fs = std::filesystem;
using nmoe::bench::DpRankOptions;
using nmoe::bench::DpRankResult;
using nmoe::bench::StepTimes;

// Nearest-rank quantile of `v` (q in [0, 1]).
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::max(0.0, std::ceil(q * static_cast<double>(v.size())) - 1));
  return v[std::min(i, v.size() - 1)];
}

struct Phase {
  double median = 0, p90 = 0;
};
Phase Stats(const DpRankResult& r, double StepTimes::*field) {
  std::vector<double> v;
  for (const StepTimes& t : r.steps) v.push_back(t.*field);
  return {Quantile(v, 0.5), Quantile(v, 0.9)};
}
std::string Ms(const Phase& p) { return absl::StrFormat("%.1f (%.1f)", p.median * 1e3, p.p90 * 1e3); }

std::vector<std::string> RankArgs(const DpRankOptions& o, const std::string& result_path) {
  return {"--rank",       absl::StrCat(o.rank),
          "--world-size", absl::StrCat(o.world_size),
          "--store",      o.store_dir,
          "--result",     result_path,
          "--preset",     o.preset,
          "--vocab",      absl::StrCat(o.vocab_size),
          "--batch",      absl::StrCat(o.batch),
          "--seq",        absl::StrCat(o.seq),
          "--bucket-mb",  absl::StrCat(o.bucket_bytes >> 20),
          "--threads",    absl::StrCat(o.threads),
          "--warmup",     absl::StrCat(o.warmup),
          "--steps",      absl::StrCat(o.steps),
          "--seed",       absl::StrCat(o.seed),
          "--split-wait", o.split_wait ? "1" : "0"};
}

// Runs `world` rank processes (this executable with --rank) and collects their results.
bool RunWorld(DpRankOptions o, int world, std::vector<DpRankResult>* results) {
  char tmpl[] = "/tmp/bench_dp_step.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return false;
  }
  const fs::path dir = tmpl;
  o.world_size = world;
  o.store_dir = dir.string();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    o.rank = r;
    std::vector<std::string> args = RankArgs(o, (dir / absl::StrCat("result-", r, ".txt")).string());
    args.insert(args.begin(), "bench_dp_step");
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::perror("execv");
      _exit(127);
    }
    if (pid < 0) {
      std::perror("fork");
      return false;
    }
    pids.push_back(pid);
  }
  bool ok = true;
  for (size_t left = pids.size(); left > 0; --left) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) break;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "rank process %d failed (status %d): stopping the others\n", done, status);
      ok = false;
      for (pid_t p : pids) {
        if (p != done) kill(p, SIGTERM);  // only our own children
      }
    }
  }
  for (int r = 0; ok && r < world; ++r) {
    std::ifstream in(dir / absl::StrCat("result-", r, ".txt"));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = nmoe::bench::ParseDpRankResult(text.str());
    if (!parsed.ok()) {
      std::fprintf(stderr, "rank %d: %s\n", r, parsed.status().ToString().c_str());
      ok = false;
    } else {
      results->push_back(*std::move(parsed));
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok;
}

int RankMain(const DpRankOptions& o, const std::string& result_path) {
  auto result = nmoe::bench::RunDpRank(o);
  if (!result.ok()) {
    std::fprintf(stderr, "rank %d/%d: %s\n", o.rank, o.world_size, result.status().ToString().c_str());
    return 1;
  }
  std::ofstream out(result_path);
  out << nmoe::bench::FormatDpRankResult(*result);
  out.close();
  return out.good() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Per-step cost of data-parallel gradient sync (issue 4)");
  DpRankOptions o;
  std::vector<int> worlds = {1, 2};
  int64_t bucket_mb = 16;
  int rank = -1, world_size = 1;
  std::string result_path;
  app.add_option("--world", worlds, "world sizes to measure, e.g. 1,2")->delimiter(',');
  app.add_option("--steps", o.steps, "measured steps per world size");
  app.add_option("--warmup", o.warmup, "steps before measuring");
  app.add_option("--batch", o.batch, "sequences per rank per step");
  app.add_option("--seq", o.seq, "tokens per sequence");
  app.add_option("--bucket-mb", bucket_mb, "DataParallel bucket size (MiB)");
  app.add_option("--threads", o.threads, "intra-op threads per rank");
  app.add_option("--preset", o.preset, "model preset (trainer/presets.h)");
  app.add_option("--vocab", o.vocab_size, "vocabulary size");
  app.add_option("--seed", o.seed, "model and data seed");
  app.add_option("--split-wait", o.split_wait,
                 "diagnostic: a barrier before the sync, timed apart (wait = skew, sync = transfer)");
  // Internal: one rank process.
  app.add_option("--rank", rank)->group("");
  app.add_option("--world-size", world_size)->group("");
  app.add_option("--store", o.store_dir)->group("");
  app.add_option("--result", result_path)->group("");
  CLI11_PARSE(app, argc, argv);
  o.bucket_bytes = bucket_mb << 20;
  if (o.steps < 1 || o.batch < 1 || o.seq < 1 || bucket_mb < 1 || o.threads < 1 || o.warmup < 0) {
    std::fprintf(stderr, "--steps, --batch, --seq, --bucket-mb and --threads must be >= 1, --warmup >= 0\n");
    return 2;
  }
  if (rank >= 0) {
    o.rank = rank;
    o.world_size = world_size;
    return RankMain(o, result_path);
  }
  // Spin-waiting OpenMP threads make shared-core runs several times slower.
  setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);

  std::map<int, std::vector<DpRankResult>> by_world;
  for (int w : worlds) {
    if (w < 1) {
      std::fprintf(stderr, "--world: sizes must be >= 1\n");
      return 2;
    }
    std::fprintf(stderr, "running W=%d ...\n", w);
    if (!RunWorld(o, w, &by_world[w])) return 1;
  }
  const DpRankResult& any = by_world.begin()->second.front();
  std::printf(
      "preset %s: %lld parameters; SumGradients all-reduces %.2f MB (fp32) per step in buckets closed at >= %lld MiB, "
      "plus 2 fp64 SumValues of 2 and 1 values. Per rank: %lld x %lld tokens, %d intra-op thread(s); "
      "OMP_WAIT_POLICY=%s; %d measured steps after %d warm-up; %u hardware threads.\n\n",
      o.preset.c_str(), static_cast<long long>(any.parameters), any.grad_bytes / 1e6, static_cast<long long>(bucket_mb),
      static_cast<long long>(o.batch), static_cast<long long>(o.seq), any.threads, getenv("OMP_WAIT_POLICY"), o.steps,
      o.warmup, std::thread::hardware_concurrency());
  std::printf("Times in ms, median (p90).\n\n");
  std::printf(
      "| W | rank | global tokens/step | fwd+bwd | wait | sync | optimizer | step | sync / W=1 step | global tokens/s "
      "|\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const double base_step = by_world.count(1) ? Stats(by_world[1].front(), &StepTimes::total).median : 0;
  bool all_identical = true;
  for (const auto& [w, ranks] : by_world) {
    const int64_t tokens = static_cast<int64_t>(w) * o.batch * o.seq;
    for (size_t r = 0; r < ranks.size(); ++r) {
      const Phase step = Stats(ranks[r], &StepTimes::total), sync = Stats(ranks[r], &StepTimes::sync);
      const std::string share =
          base_step > 0 && w > 1 ? absl::StrFormat("%.1f %%", 100 * sync.median / base_step) : "-";
      std::printf("| %d | %zu | %lld | %s | %s | %s | %s | %s | %s | %.0f |\n", w, r, static_cast<long long>(tokens),
                  Ms(Stats(ranks[r], &StepTimes::fwd_bwd)).c_str(),
                  o.split_wait ? Ms(Stats(ranks[r], &StepTimes::wait)).c_str() : "-", Ms(sync).c_str(),
                  Ms(Stats(ranks[r], &StepTimes::optimizer)).c_str(), Ms(step).c_str(), share.c_str(),
                  static_cast<double>(tokens) / step.median);
      all_identical = all_identical && ranks[r].identical;
    }
  }
  std::printf(
      "\nProcess CPU time of the same phases (every thread of the rank process, Gloo's included), ms, "
      "median (p90); CPU share = step CPU / step wall time:\n\n");
  std::printf("| W | rank | fwd+bwd CPU | sync CPU | step CPU | sync CPU / W=1 step CPU | CPU share |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  const double base_cpu = by_world.count(1) ? Stats(by_world[1].front(), &StepTimes::total_cpu).median : 0;
  for (const auto& [w, ranks] : by_world) {
    for (size_t r = 0; r < ranks.size(); ++r) {
      const Phase sync = Stats(ranks[r], &StepTimes::sync_cpu), step = Stats(ranks[r], &StepTimes::total_cpu);
      const std::string share = base_cpu > 0 && w > 1 ? absl::StrFormat("%.1f %%", 100 * sync.median / base_cpu) : "-";
      std::printf("| %d | %zu | %s | %s | %s | %s | %.0f %% |\n", w, r,
                  Ms(Stats(ranks[r], &StepTimes::fwd_bwd_cpu)).c_str(), Ms(sync).c_str(), Ms(step).c_str(),
                  share.c_str(), 100 * step.median / Stats(ranks[r], &StepTimes::total).median);
    }
  }
  std::printf("\n");
  for (const auto& [w, ranks] : by_world) {
    if (w == 1) continue;
    double worst_diff = 0;
    for (const DpRankResult& r : ranks) worst_diff = std::max(worst_diff, r.max_abs_diff);
    bool identical = true;
    for (const DpRankResult& r : ranks) identical = identical && r.identical;
    std::printf("W=%d: after %d steps every rank's parameters %s rank 0's (max |diff| %.3g); last global loss %.4f.\n",
                w, o.warmup + o.steps, identical ? "are bitwise equal to" : "DIFFER from", worst_diff,
                ranks.front().last_loss);
    if (base_step > 0) {
      double slowest = 0;
      for (const DpRankResult& r : ranks) slowest = std::max(slowest, Stats(r, &StepTimes::total).median);
      const double w1_tps = static_cast<double>(o.batch * o.seq) / base_step;
      const double tps = static_cast<double>(w * o.batch * o.seq) / slowest;
      std::printf(
          "W=%d against W=1: step median %+.1f ms (%+.1f %%); global tokens/s %.2fx (weak-scaling "
          "efficiency %.0f %%).\n",
          w, (slowest - base_step) * 1e3, 100 * (slowest / base_step - 1), tps / w1_tps, 100 * tps / (w * w1_tps));
    }
  }
  return all_identical ? 0 : 1;
}
