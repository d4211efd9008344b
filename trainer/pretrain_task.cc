#include "trainer/pretrain_task.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "data/hash.h"
#include "data/packing.h"
#include "data/token_shard.h"
#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "trainer/data_parallel.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/presets.h"
#include "trainer/stage_setup.h"
#include "trainer/task_support.h"
#include "trainer/train_loop.h"
#include "trainer/train_metrics.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

class PretrainTask : public Task {
 public:
  absl::Status Run(TaskContext& ctx) override;
};

absl::Status PretrainTask::Run(TaskContext& ctx) {
  const v1::PretrainSpec& spec = ctx.task.spec().pretrain();
  const v1::TrainStage& stage = spec.stage();
  const fs::path output = ctx.Resolve(spec.output_path());
  NMOE_ASSIGN_OR_RETURN(const bool bf16, UseBf16Autocast(ctx));
  NMOE_ASSIGN_OR_RETURN(RankSetup ranks, SetUpRank(ctx, output, "pretrain"));
  const int rank = ranks.rank, world_size = ranks.world_size;
  const fs::path& root = ranks.root;

  // Tokenizer and data.
  const std::vector<LanguageFiles> corpora = ResolveCorpora(ctx, stage.corpora());
  NMOE_ASSIGN_OR_RETURN(const std::string corpus_fp, CorpusFingerprint(corpora));
  fs::path tokenizer_path;
  std::optional<tokenizer::Tokenizer> tok;
  if (!spec.tokenizer_path().empty()) {
    tokenizer_path = ctx.Resolve(spec.tokenizer_path());
    NMOE_ASSIGN_OR_RETURN(tok, tokenizer::Tokenizer::FromFile(tokenizer_path.string()));
  } else {
    tokenizer_path = root / "tokenizer.json";
    TokenizerTraining training;
    training.vocab_size = static_cast<int32_t>(OrDefault(static_cast<int64_t>(spec.tokenizer_vocab_size()), 8192));
    NMOE_ASSIGN_OR_RETURN(
        tok, TrainOrReuseTokenizer(corpora, corpus_fp, training, tokenizer_path, [&](const std::string& l) { ctx.Info(l); }));
  }
  NMOE_ASSIGN_OR_RETURN(const std::string tokenizer_sha, data::Sha256File(tokenizer_path.string()));
  NMOE_ASSIGN_OR_RETURN(PreparedShards shards, PrepareShards(corpora, corpus_fp, *tok, tokenizer_sha, root / "data",
                                                             [&](const std::string& l) { ctx.Info(l); }));

  // Model.
  model::ModelConfig config;
  if (!spec.preset().empty()) {
    NMOE_ASSIGN_OR_RETURN(config, PresetConfig(spec.preset(), tok->vocab_size(), tok->bos_id(), tok->eos_id()));
  } else {
    NMOE_ASSIGN_OR_RETURN(config, model::LoadModelConfig(ctx.Resolve(spec.config_path()).string()));
    if (config.vocab_size < tok->vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat("spec.pretrain.config_path: vocab_size ", config.vocab_size,
                                                     " is smaller than the tokenizer's ", tok->vocab_size()));
    }
  }
  config.torch_dtype = "float32";
  NMOE_RETURN_IF_ERROR(model::ValidateModelConfig(config));
  NMOE_ASSIGN_OR_RETURN(std::shared_ptr<model::CausalLm> lm, model::NewRandomModel(config, spec.seed()));
  ctx.Info(absl::StrFormat("model: %s, %d layers, hidden %d, %d heads (%d kv), MLP %d, vocabulary %d: %.2fM parameters",
                           spec.preset().empty() ? spec.config_path() : "preset " + spec.preset(),
                           config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
                           config.num_key_value_heads, config.intermediate_size, config.vocab_size,
                           static_cast<double>(config.NumParameters()) / 1e6));

  // Data order.
  NMOE_ASSIGN_OR_RETURN(const int64_t seq_len,
                        StageSequenceLength(stage, "spec.pretrain.stage", 1024, config.max_position_embeddings));
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<data::PackedLoader> loader,
                        OpenPackedLoader(shards, *tok, seq_len, spec.seed(), rank, world_size));
  ctx.Info(absl::StrFormat("data: %d windows of %d tokens per epoch", loader->num_windows(), seq_len));
  PackedBatchSource source(std::move(loader));

  // Optimizer and loop.
  NMOE_ASSIGN_OR_RETURN(TrainLoopOptions loop, StageLoopOptions(stage, "spec.pretrain.stage", world_size));
  loop.stage = "pretrain";
  loop.bf16_autocast = bf16;
  loop.checkpoint_interval = spec.checkpoint_interval_steps();
  {
    // What a checkpoint must share with this run to be resumed: the stage (data,
    // schedule, batch), the model, the tokenizer and data, the seed.
    std::string stage_bytes;
    stage.SerializeToString(&stage_bytes);
    NMOE_ASSIGN_OR_RETURN(std::string config_json, model::ModelConfigToJson(config));
    loop.fingerprint = data::Sha256Hex(absl::StrCat(stage_bytes, "\n", config_json, "\n", shards.fingerprint, "\n",
                                                    spec.seed()))
                           .substr(0, 32);
  }
  AdamWSettings adamw;
  adamw.lr = loop.schedule.peak_lr;
  adamw.weight_decay = stage.weight_decay();
  std::unique_ptr<torch::optim::AdamW> optimizer = BuildAdamW(*lm, adamw);
  CheckpointStore store(root / "checkpoints", /*keep_last=*/2);
  MetricsLog metrics;

  TrainComponents parts;
  parts.parameters = lm->parameters();
  parts.optimizer = optimizer.get();
  parts.data = &source;
  parts.loss = [&lm](const Batch& b) { return LmLossSum(*lm, b); };
  parts.save_model = [&lm](const fs::path& dir) { return model::SavePretrained(*lm, dir.string()); };
  parts.load_model = [&lm](const fs::path& dir) -> absl::Status {
    NMOE_ASSIGN_OR_RETURN(auto checkpoint, safetensors::Checkpoint::Open(dir.string()));
    return model::LoadWeightsInto(*lm, *checkpoint, /*strict_unexpected=*/true).status();
  };
  parts.checkpoints = &store;
  parts.data_parallel = ranks.gang();
  TrainMetrics exported(ctx.metrics, ctx.task.job_id(), loop.stage, loop.total_steps);
  parts.on_step = [&](const StepRecord& r) {
    metrics.Append(StepJson(r));
    exported.RecordStep(r);
    exported.SetLoss("lm", r.loss);
  };
  TrainLoop trainer(std::move(parts), loop);
  NMOE_ASSIGN_OR_RETURN(const uint64_t start_step, trainer.Resume(ctx));
  metrics.Open(root / "metrics.jsonl", start_step);
  ctx.Info(absl::StrFormat("pretrain: %d steps of %d sequences x %d tokens (%d micro-batches), peak lr %g, %s",
                           loop.total_steps, loop.batch_sequences, seq_len, loop.grad_accumulation,
                           loop.schedule.peak_lr, start_step > 0 ? absl::StrCat("resuming at step ", start_step)
                                                                 : std::string("from scratch")));
  NMOE_RETURN_IF_ERROR(trainer.Run(ctx));
  metrics.Close();

  // Final model and evaluation (rank 0).
  if (rank != 0) {
    ctx.Info("pretrain: done (rank 0 writes the model and evaluates)");
    return absl::OkStatus();
  }
  model::SaveModelOptions save;
  save.tokenizer_json = tokenizer_path.string();
  NMOE_RETURN_IF_ERROR(model::SavePretrained(*lm, output.string(), save));
  ctx.Info(absl::StrFormat("pretrain: done, %d tokens in %.0f s of training; model written to %s",
                           trainer.tokens_seen(), trainer.elapsed_seconds(), output.string()));
  const std::vector<LanguageFiles> heldout = ResolveCorpora(ctx, spec.heldout());
  if (heldout.empty()) {
    ctx.Info("pretrain: no held-out corpora, skipping evaluation");
    return absl::OkStatus();
  }
  PerplexityOptions eval;
  eval.sequence_length = seq_len;
  eval.batch_sequences = loop.batch_sequences / loop.grad_accumulation;
  eval.bf16_autocast = bf16;
  NMOE_ASSIGN_OR_RETURN(auto unigrams, CountUnigrams(shards.shards, shards.shard_languages, config.vocab_size));
  NMOE_ASSIGN_OR_RETURN(std::vector<LanguagePerplexity> results,
                        EvaluateHeldout(*lm, *tok, heldout, eval, ctx, &unigrams));
  return WriteFileAtomically(output / "eval.json", PerplexityJson(results));
}

}  // namespace

std::unique_ptr<Task> NewPretrainTask() { return std::make_unique<PretrainTask>(); }

}  // namespace nmoe::trainer
