// Turning a TrainStage (proto) into the pieces of a training run: loop options with
// the proto's defaults, a packed loader over prepared shards, and the metrics.jsonl
// log. Shared by the pretrain and MoE train task kinds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/task.h"
#include "data/packing.h"
#include "nlohmann/json.hpp"
#include "nmoe/v1/job_spec.pb.h"
#include "tokenizer/tokenizer.h"
#include "trainer/data_parallel.h"
#include "trainer/pretrain_data.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {

// Where this rank of a (possibly data-parallel) training task works. Rank 0 owns the
// output folder; rank r > 0 keeps its own tokenizer, shards, checkpoints and metrics
// under <output>/rank-r (the ranks need not share a file system).
struct RankSetup {
  int rank = 0;
  int world_size = 1;
  std::filesystem::path root;                 // output (rank 0) or output/rank-r
  std::optional<DataParallel> data_parallel;  // over ctx.comm when world_size > 1
  DataParallel* gang() { return data_parallel ? &*data_parallel : nullptr; }
};

// Creates `output` and the rank's root. FAILED_PRECONDITION (naming `kind`) when the
// task has several ranks but the runner gave it no communicator; INTERNAL when a
// folder cannot be created.
absl::StatusOr<RankSetup> SetUpRank(const TaskContext& ctx, const std::filesystem::path& output,
                                    const std::string& kind);

// Stage defaults (proto comments: 0 = default).
inline int64_t OrDefault(int64_t v, int64_t d) { return v > 0 ? v : d; }
inline double OrDefault(double v, double d) { return v > 0 ? v : d; }

// Steps, batch (per optimizer step, all ranks together), accumulation, schedule and
// clipping of `stage`. INVALID_ARGUMENT naming `field` when batch_sequences is not a
// multiple of grad_accumulation * world_size.
absl::StatusOr<TrainLoopOptions> StageLoopOptions(const v1::TrainStage& stage, const std::string& field,
                                                  int world_size);

// The stage's sequence length (default `default_len`); INVALID_ARGUMENT naming `field`
// when it exceeds `max_positions`.
absl::StatusOr<int64_t> StageSequenceLength(const v1::TrainStage& stage, const std::string& field,
                                            int64_t default_len, int64_t max_positions);

// A shuffled loader over `shards` with the tokenizer's BOS/EOS, this rank's slice.
absl::StatusOr<std::unique_ptr<data::PackedLoader>> OpenPackedLoader(const PreparedShards& shards,
                                                                     const tokenizer::Tokenizer& tokenizer,
                                                                     int64_t seq_len, uint64_t seed, int rank,
                                                                     int world_size);

// metrics.jsonl: one JSON object per optimizer step. Open() keeps the lines of steps
// <= start_step (a resumed run rewrites the rest) and appends after them.
class MetricsLog {
 public:
  void Open(const std::filesystem::path& path, uint64_t start_step);
  void Append(const nlohmann::json& line);
  void Close() { out_.close(); }

 private:
  std::ofstream out_;
};

// The base metrics of a step record, to which task kinds add their own fields.
nlohmann::json StepJson(const StepRecord& r);

}  // namespace nmoe::trainer
