// The training loop shared by every training job kind (dense pretraining now, the MoE
// stages later): gradient accumulation, mixed precision, global gradient-norm
// clipping, the learning-rate schedule, progress, checkpoints, stop and resume.
// docs/training.md describes the behaviour; this header is the contract.
//
// One optimizer step = `grad_accumulation` micro-batches of
// batch_sequences / grad_accumulation sequences each. The step's loss is the mean over
// every predicted token of all its micro-batches (each micro-batch's summed loss is
// divided by the step's total token count before backward), so the gradient does not
// depend on how the batch is split.
//
// Resume: Resume() loads the newest valid checkpoint of the store (model weights via
// the caller's LoadModelFn, optimizer state, generator state, data position) and the
// run continues exactly where it was saved: the same batches, learning rates and
// optimizer moments, so the losses follow the uninterrupted run's. In a gang
// (data_parallel with world > 1) every rank resumes from the same step: the newest one
// all ranks hold a valid checkpoint of.
#pragma once

#include <torch/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/task.h"
#include "trainer/checkpoints.h"
#include "trainer/lr_schedule.h"

namespace torch::optim {
class Optimizer;
}

namespace nmoe::trainer {

class DataParallel;

// A micro-batch of token sequences. Shape legend: B sequences, T time.
struct Batch {
  at::Tensor ids_BT;      // int64 model inputs
  at::Tensor targets_BT;  // int64 next-token targets; model::kIgnoreIndex where not trained
  int64_t predicted_tokens = 0;  // targets that are not ignored
  at::Tensor source_BT;  // int64 shard index of each input token (data/packing.h); may be undefined
};

// Where batches come from; deterministic and resumable.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next `sequences` sequences (the source never runs out: it wraps epochs).
  virtual Batch Next(int64_t sequences) = 0;
  // Opaque text that Seek() accepts to continue from here.
  virtual std::string Position() const = 0;
  virtual absl::Status Seek(const std::string& position) = 0;
};

// The summed (not averaged) loss of a micro-batch: an fp32 scalar with autograd.
// Runs under the loop's autocast guard.
using LossFn = std::function<absl::StatusOr<at::Tensor>(const Batch& batch)>;
// Replaces the model's weights with the ones saved by SaveModelFn in `dir`.
using LoadModelFn = std::function<absl::Status(const std::filesystem::path& dir)>;

struct TrainLoopOptions {
  uint64_t total_steps = 1;
  int64_t batch_sequences = 8;    // per optimizer step
  int64_t grad_accumulation = 1;  // must divide batch_sequences
  LrSchedule schedule;
  double grad_clip = 1.0;         // max global L2 norm; <= 0: no clipping (the norm is still reported)
  bool bf16_autocast = false;     // forward under CPU autocast to bf16 (fp32 weights and optimizer)
  uint64_t checkpoint_interval = 0;  // save every N steps; 0 = only at the end (and on stop)
  std::string stage = "train";    // progress stage name
  std::string fingerprint;        // stored in checkpoints; Resume() requires it to match
  uint64_t log_every = 0;         // a log line every N steps; 0 = about 20 per run
};

// One optimizer step's figures.
struct StepRecord {
  uint64_t step = 0;  // 1-based: steps done after this one
  double loss = 0;    // mean over the step's predicted tokens
  double lr = 0;
  double grad_norm = 0;  // before clipping
  int64_t tokens = 0;    // input tokens of the step
  int64_t predicted_tokens = 0;
  double seconds = 0;
  double tokens_per_second = 0;
};

struct TrainComponents {
  std::vector<at::Tensor> parameters;  // trained parameters (the clipping set)
  torch::optim::Optimizer* optimizer = nullptr;
  BatchSource* data = nullptr;
  LossFn loss;
  SaveModelFn save_model;
  LoadModelFn load_model;
  CheckpointStore* checkpoints = nullptr;  // null: no checkpoints, no resume
  std::function<void(const StepRecord&)> on_step;  // optional: after every step
  // Optional: the gang this rank trains with (data_parallel.h). Token counts, the
  // loss and the gradients of `parameters` are summed over the ranks every step, so
  // StepRecord holds global figures and every rank applies the same update.
  DataParallel* data_parallel = nullptr;
};

class TrainLoop {
 public:
  TrainLoop(TrainComponents components, TrainLoopOptions options);

  // Loads the newest valid checkpoint, if any (in a gang: the newest step every rank
  // holds; a collective, so every rank must call it); returns the step it holds (0: fresh
  // start). FAILED_PRECONDITION when it belongs to another run (fingerprint), with
  // both fingerprints; errors of loading otherwise.
  absl::StatusOr<uint64_t> Resume(const TaskContext& ctx);

  // Trains from the current step to total_steps, saving checkpoints on the interval
  // and at the end. When ctx.StopRequested() after a step: saves a checkpoint and
  // returns CANCELLED. INTERNAL when the loss or gradient norm is not finite
  // (diverged), naming the step and learning rate.
  absl::Status Run(const TaskContext& ctx);

  uint64_t step() const { return step_; }
  uint64_t tokens_seen() const { return tokens_seen_; }
  double elapsed_seconds() const { return elapsed_seconds_; }

 private:
  absl::StatusOr<StepRecord> Step();
  absl::Status Save();
  // The checkpoint to resume from: the newest valid one, or in a gang the newest step
  // every rank holds (newer ones are removed, with a warning); nullopt = fresh start.
  absl::StatusOr<std::optional<FoundCheckpoint>> FindResumePoint(const TaskContext& ctx);

  TrainComponents c_;
  TrainLoopOptions options_;
  uint64_t step_ = 0;
  uint64_t tokens_seen_ = 0;
  double elapsed_seconds_ = 0;
  uint64_t last_saved_ = UINT64_MAX;
};

}  // namespace nmoe::trainer
