// One profiling run on a model: forward every sentence batch once with the collector
// attached and accumulate what the criteria need (scoring.h scores it).
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "model/causal_lm.h"
#include "profiler/collector.h"
#include "profiler/scoring.h"
#include "profiler/sentence_batches.h"

namespace nmoe::profiler {

struct RunOptions {
  CollectOptions collect;
  std::vector<Proj> projs;                       // empty = all seven
  uint64_t memory_budget_bytes = 2ull << 30;     // AP responses held in memory
  std::filesystem::path spill_dir;               // AP responses over the budget
  bool bf16_autocast = false;
  // Forward only the real tokens of each padded batch through the token-wise parts of
  // the model (model::ForwardOptions::unpad): same statistics, less work.
  bool unpad = true;
  // Called after each batch with this rank's sentences done, its total, and the real
  // tokens (no padding) done. Optional.
  std::function<void(int64_t done, int64_t total, uint64_t tokens)> progress;
  // Polled between batches; true stops the run with CANCELLED. Optional.
  std::function<bool()> stop;
  // Gang member `rank` of `world` runs batches rank, rank + world, ... of the list it
  // is given (every rank gives the same list). Similarity takes the tokens a single
  // run over the whole list would take, and the response store's chunks are sized
  // for all sentences, so every rank has the same chunk bounds (gang_profile.h).
  int rank = 0, world = 1;
};

// The neurons of `config`'s projections.
absl::StatusOr<NeuronSpace> SpaceFor(const model::ModelConfig& config, const std::vector<Proj>& projs);

// The batches gang member `rank` of `world` runs.
bool RunsBatch(size_t index, int rank, int world);

// Runs under a NoGradGuard; attaches the collector for the run and detaches it after
// (also on errors). `languages` names the labels of the batches.
absl::StatusOr<CollectedProfile> CollectProfile(model::CausalLm& model, const std::vector<std::string>& languages,
                                                const std::vector<SentenceBatch>& batches, const RunOptions& options);

}  // namespace nmoe::profiler
