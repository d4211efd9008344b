#include "trainer/stage_setup.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/token_shard.h"
#include "trainer/task_support.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;

absl::StatusOr<RankSetup> SetUpRank(const TaskContext& ctx, const fs::path& output, const std::string& kind) {
  RankSetup setup;
  setup.world_size = std::max<int>(1, static_cast<int>(ctx.task.world_size()));
  setup.rank = static_cast<int>(ctx.task.rank());
  if (setup.world_size > 1) {
    if (ctx.comm == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(kind, ": ", setup.world_size, " ranks but this runner gave the task no communicator"));
    }
    setup.data_parallel.emplace(ctx.comm);
  }
  setup.root = setup.rank == 0 ? output : output / absl::StrCat("rank-", setup.rank);
  for (const fs::path& dir : {output, setup.root}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }
  return setup;
}

absl::StatusOr<TrainLoopOptions> StageLoopOptions(const v1::TrainStage& stage, const std::string& field,
                                                  int world_size) {
  TrainLoopOptions loop;
  loop.total_steps = stage.steps();
  loop.batch_sequences = OrDefault(static_cast<int64_t>(stage.batch_sequences()), 8);
  loop.grad_accumulation = OrDefault(static_cast<int64_t>(stage.grad_accumulation()), 1);
  loop.schedule.peak_lr = OrDefault(stage.learning_rate(), 1e-4);
  loop.schedule.warmup_steps = stage.warmup_steps();
  loop.schedule.total_steps = stage.steps();
  loop.schedule.min_lr_ratio = stage.min_lr_ratio();
  loop.grad_clip = OrDefault(stage.grad_clip(), 1.0);
  const int64_t unit = loop.grad_accumulation * world_size;
  if (loop.batch_sequences % unit != 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".batch_sequences (", loop.batch_sequences,
                                                   ") must be a multiple of grad_accumulation (",
                                                   loop.grad_accumulation, ") x workers (", world_size, ")"));
  }
  loop.batch_sequences /= world_size;  // this rank's share of the global batch
  return loop;
}

absl::StatusOr<int64_t> StageSequenceLength(const v1::TrainStage& stage, const std::string& field,
                                            int64_t default_len, int64_t max_positions) {
  const int64_t len = OrDefault(static_cast<int64_t>(stage.sequence_length()), default_len);
  if (len > max_positions) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".sequence_length ", len,
                                                   " exceeds the model's max_position_embeddings ", max_positions));
  }
  return len;
}

absl::StatusOr<std::unique_ptr<data::PackedLoader>> OpenPackedLoader(const PreparedShards& shards,
                                                                     const tokenizer::Tokenizer& tokenizer,
                                                                     int64_t seq_len, uint64_t seed, int rank,
                                                                     int world_size) {
  std::vector<std::shared_ptr<const data::TokenShard>> opened;
  for (const std::string& path : shards.shards) {
    NMOE_ASSIGN_OR_RETURN(std::unique_ptr<data::TokenShard> shard,
                          data::TokenShard::Open(path, /*verify_checksum=*/false));
    opened.push_back(std::move(shard));
  }
  data::PackingOptions packing;
  packing.seq_len = seq_len;
  packing.bos_id = tokenizer.bos_id();
  packing.eos_id = tokenizer.eos_id();
  packing.shuffle = true;
  packing.seed = seed;
  packing.rank = rank;
  packing.world_size = world_size;
  return data::PackedLoader::Create(std::move(opened), packing);
}

void MetricsLog::Open(const fs::path& path, uint64_t start_step) {
  std::string kept;
  {
    std::ifstream in(path);
    std::string line;
    while (in && std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("step", uint64_t{0}) <= start_step) kept += line + "\n";
    }
  }
  (void)WriteFileAtomically(path, kept);
  out_.open(path, std::ios::app);
}

void MetricsLog::Append(const nlohmann::json& line) {
  out_ << line.dump() << "\n";
  out_.flush();
}

nlohmann::json StepJson(const StepRecord& r) {
  return {{"step", r.step},     {"loss", r.loss},       {"lr", r.lr},
          {"grad_norm", r.grad_norm}, {"tokens", r.tokens}, {"seconds", r.seconds},
          {"tokens_per_s", r.tokens_per_second}};
}

}  // namespace nmoe::trainer
