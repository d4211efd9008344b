// One rank of bench_dp_step: data-parallel training steps of a preset model with
// per-phase timings. The step is TrainLoop::Step's (trainer/train_loop.cc) in the
// same order, split by clocks: the token counts summed over the ranks, zero_grad +
// forward (LmLossSum) + backward, the loss and gradients summed over the ranks
// (trainer::DataParallel::SumValues / SumGradients, the training path's own code),
// then the global gradient norm, clipping and the AdamW step. With world_size 1
// there is no communicator and no sync, as in a 1-worker job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::bench {

struct DpRankOptions {
  int rank = 0;
  int world_size = 1;
  std::string store_dir;  // rendezvous folder shared by the ranks (world_size > 1)
  std::string preset = "small";
  int64_t vocab_size = 8192;
  int64_t batch = 4;  // sequences per rank per step
  int64_t seq = 256;  // tokens per sequence
  int64_t bucket_bytes = 16 << 20;
  int threads = 1;  // intra-op threads of this process
  int warmup = 2;
  int steps = 20;  // measured steps, after warmup
  uint64_t seed = 1;
  double lr = 1e-3;
  // Diagnostic, off the training path: a Barrier after backward, timed as `wait`, so
  // that `sync` holds the transfer alone and `wait` the ranks' skew.
  bool split_wait = false;
};

// Wall seconds of each phase of one step.
struct StepTimes {
  double fwd_bwd = 0;
  double wait = 0;       // the split_wait barrier (0 without it)
  double sync = 0;       // both SumValues calls + SumGradients; includes waiting for the slower rank
  double optimizer = 0;  // gradient norm + clipping + AdamW step
  double total = 0;
  // Process CPU seconds (all threads) of the same phases: what the work costs,
  // less sensitive than wall time to other processes on shared cores.
  double fwd_bwd_cpu = 0;
  double sync_cpu = 0;
  double total_cpu = 0;
};

struct DpRankResult {
  std::vector<StepTimes> steps;  // measured steps only
  int64_t parameters = 0;        // elements of the trained parameters
  int64_t grad_bytes = 0;        // fp32 bytes SumGradients all-reduces per step
  int threads = 0;               // at::get_num_threads() in effect
  double last_loss = 0;          // global mean loss of the last step
  // Against rank 0's parameters after the last step (broadcast); 0 / true for world 1.
  double max_abs_diff = 0;
  bool identical = true;
};

// Runs the steps. Errors of the model, the rendezvous or a collective.
absl::StatusOr<DpRankResult> RunDpRank(const DpRankOptions& options);

// Text form exchanged between a rank process and the launcher.
std::string FormatDpRankResult(const DpRankResult& result);
absl::StatusOr<DpRankResult> ParseDpRankResult(const std::string& text);

}  // namespace nmoe::bench
