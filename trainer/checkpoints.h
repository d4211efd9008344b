// Resumable training checkpoints (docs/training.md, "Checkpoints").
//
// Layout under a checkpoint root (e.g. <output>/checkpoints):
//   step-<N>/                 one checkpoint, after optimizer step N (N steps done)
//     <model files>           written by the caller (SaveModelFn), e.g. config.json +
//                             model.safetensors in the Hugging Face layout
//     optimizer.pt            LibTorch archive: the optimizer's state and the CPU
//                             generator state ("nmoe/cpu_rng")
//     trainer_state.json      {"format": 1, "step", "loader", "fingerprint",
//                              "tokens_seen", "elapsed_seconds", "files": {name:
//                              {"bytes", "sha256"}}} -- written last
// A checkpoint is built in ".tmp-step-<N>-<pid>" next to the others, its files are
// fsynced, and the folder is renamed into place, so a crash never leaves a
// half-written "step-<N>". Valid = trainer_state.json parses, names its step, and
// every listed file has its size and SHA-256; anything else is corrupt (skipped with
// a warning when resuming, never deleted by the search). After a save only the newest
// `keep_last` valid checkpoints remain (temporary folders of dead processes too are
// removed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace torch::optim {
class Optimizer;
}

namespace nmoe::trainer {

struct TrainerState {
  uint64_t step = 0;             // optimizer steps done
  std::string loader;            // the data source's position (opaque text)
  std::string fingerprint;       // what must match to resume (spec, data, model)
  uint64_t tokens_seen = 0;      // input tokens consumed so far
  double elapsed_seconds = 0;    // training time so far (all attempts)
};

struct FoundCheckpoint {
  std::filesystem::path dir;
  TrainerState state;
};

// Writes the model's files into the given (existing, empty) folder.
using SaveModelFn = std::function<absl::Status(const std::filesystem::path& dir)>;

class CheckpointStore {
 public:
  // `keep_last` >= 1.
  CheckpointStore(std::filesystem::path root, int keep_last = 2);

  const std::filesystem::path& root() const { return root_; }

  // Saves step `state.step` atomically (replacing an existing one of that step), then
  // prunes. INTERNAL with the path on I/O or serialization errors.
  absl::Status Save(const TrainerState& state, const SaveModelFn& save_model, torch::optim::Optimizer& optimizer);

  // Checkpoint folders "step-<N>", newest first (no validation).
  std::vector<std::filesystem::path> List() const;

  // Reads and verifies one checkpoint (state file, sizes, checksums). DATA_LOSS
  // naming the file for anything corrupt or missing.
  static absl::StatusOr<FoundCheckpoint> Verify(const std::filesystem::path& dir);

  // The newest checkpoint of a step <= `at_most` that verifies; corrupt ones are
  // reported to `warn` and skipped. nullopt when there is none.
  std::optional<FoundCheckpoint> FindLatestValid(const std::function<void(const std::string&)>& warn,
                                                 uint64_t at_most = UINT64_MAX) const;

  // Removes the checkpoints of steps > `step` (a gang resuming from an earlier common
  // step discards what it cannot resume from); returns their paths.
  std::vector<std::filesystem::path> RemoveNewerThan(uint64_t step) const;

  // Restores the optimizer state and the CPU generator from `dir`/optimizer.pt. The
  // optimizer must hold the same parameter groups as when saved. DATA_LOSS on a
  // mismatch or a corrupt archive.
  static absl::Status LoadOptimizer(const std::filesystem::path& dir, torch::optim::Optimizer& optimizer);

 private:
  void Prune() const;

  std::filesystem::path root_;
  int keep_last_;
};

}  // namespace nmoe::trainer
