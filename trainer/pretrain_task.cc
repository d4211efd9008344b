#include "trainer/pretrain_task.h"

#include <c10/util/Exception.h>

#include <fstream>
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
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/presets.h"
#include "trainer/task_support.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

// Stage defaults (proto comments: 0 = default).
int64_t Or(int64_t v, int64_t d) { return v > 0 ? v : d; }
double Or(double v, double d) { return v > 0 ? v : d; }

// Keeps the lines of metrics.jsonl up to `step` (a resumed run rewrites the rest).
void TruncateMetrics(const fs::path& path, uint64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("step", uint64_t{0}) <= step) kept += line + "\n";
  }
  in.close();
  (void)WriteFileAtomically(path, kept);
}

class PretrainTask : public Task {
 public:
  absl::Status Run(TaskContext& ctx) override;
};

absl::Status PretrainTask::Run(TaskContext& ctx) {
  const v1::PretrainSpec& spec = ctx.task.spec().pretrain();
  const v1::TrainStage& stage = spec.stage();
  const fs::path output = ctx.Resolve(spec.output_path());
  std::error_code ec;
  fs::create_directories(output, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", output.string(), ": ", ec.message()));
  NMOE_ASSIGN_OR_RETURN(const bool bf16, UseBf16Autocast(ctx));

  // Tokenizer and data.
  const std::vector<LanguageFiles> corpora = ResolveCorpora(ctx, stage.corpora());
  NMOE_ASSIGN_OR_RETURN(const std::string corpus_fp, CorpusFingerprint(corpora));
  fs::path tokenizer_path;
  std::optional<tokenizer::Tokenizer> tok;
  if (!spec.tokenizer_path().empty()) {
    tokenizer_path = ctx.Resolve(spec.tokenizer_path());
    NMOE_ASSIGN_OR_RETURN(tok, tokenizer::Tokenizer::FromFile(tokenizer_path.string()));
  } else {
    tokenizer_path = output / "tokenizer.json";
    TokenizerTraining training;
    training.vocab_size = static_cast<int32_t>(Or(static_cast<int64_t>(spec.tokenizer_vocab_size()), 8192));
    NMOE_ASSIGN_OR_RETURN(
        tok, TrainOrReuseTokenizer(corpora, corpus_fp, training, tokenizer_path, [&](const std::string& l) { ctx.Info(l); }));
  }
  NMOE_ASSIGN_OR_RETURN(const std::string tokenizer_sha, data::Sha256File(tokenizer_path.string()));
  NMOE_ASSIGN_OR_RETURN(PreparedShards shards, PrepareShards(corpora, corpus_fp, *tok, tokenizer_sha, output / "data",
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
  std::vector<std::shared_ptr<const data::TokenShard>> opened;
  for (const std::string& path : shards.shards) {
    NMOE_ASSIGN_OR_RETURN(std::unique_ptr<data::TokenShard> shard, data::TokenShard::Open(path, /*verify_checksum=*/false));
    opened.push_back(std::move(shard));
  }
  data::PackingOptions packing;
  packing.seq_len = Or(static_cast<int64_t>(stage.sequence_length()), 1024);
  packing.bos_id = tok->bos_id();
  packing.eos_id = tok->eos_id();
  packing.shuffle = true;
  packing.seed = spec.seed();
  if (packing.seq_len > config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("spec.pretrain.stage.sequence_length ", packing.seq_len,
                                                   " exceeds the model's max_position_embeddings ",
                                                   config.max_position_embeddings));
  }
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<data::PackedLoader> loader, data::PackedLoader::Create(opened, packing));
  ctx.Info(absl::StrFormat("data: %d windows of %d tokens per epoch", loader->num_windows(), packing.seq_len));
  PackedBatchSource source(std::move(loader));

  // Optimizer and loop.
  TrainLoopOptions loop;
  loop.stage = "pretrain";
  loop.total_steps = stage.steps();
  loop.batch_sequences = Or(static_cast<int64_t>(stage.batch_sequences()), 8);
  loop.grad_accumulation = Or(static_cast<int64_t>(stage.grad_accumulation()), 1);
  loop.schedule.peak_lr = Or(stage.learning_rate(), 1e-4);
  loop.schedule.warmup_steps = stage.warmup_steps();
  loop.schedule.total_steps = stage.steps();
  loop.schedule.min_lr_ratio = stage.min_lr_ratio();
  loop.grad_clip = Or(stage.grad_clip(), 1.0);
  loop.bf16_autocast = bf16;
  loop.checkpoint_interval = spec.checkpoint_interval_steps();
  if (loop.batch_sequences % loop.grad_accumulation != 0) {
    return absl::InvalidArgumentError(absl::StrCat("spec.pretrain.stage.batch_sequences (", loop.batch_sequences,
                                                   ") must be a multiple of grad_accumulation (",
                                                   loop.grad_accumulation, ")"));
  }
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
  CheckpointStore store(output / "checkpoints", /*keep_last=*/2);
  const fs::path metrics_path = output / "metrics.jsonl";
  std::ofstream metrics;

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
  parts.on_step = [&](const StepRecord& r) {
    metrics << nlohmann::json{{"step", r.step},           {"loss", r.loss},
                              {"lr", r.lr},               {"grad_norm", r.grad_norm},
                              {"tokens", r.tokens},       {"seconds", r.seconds},
                              {"tokens_per_s", r.tokens_per_second}}
                   .dump()
            << "\n";
    metrics.flush();
  };
  TrainLoop trainer(std::move(parts), loop);
  NMOE_ASSIGN_OR_RETURN(const uint64_t start_step, trainer.Resume(ctx));
  TruncateMetrics(metrics_path, start_step);
  metrics.open(metrics_path, std::ios::app);
  ctx.Info(absl::StrFormat("pretrain: %d steps of %d sequences x %d tokens (%d micro-batches), peak lr %g, %s",
                           loop.total_steps, loop.batch_sequences, packing.seq_len, loop.grad_accumulation,
                           loop.schedule.peak_lr, start_step > 0 ? absl::StrCat("resuming at step ", start_step)
                                                                 : std::string("from scratch")));
  NMOE_RETURN_IF_ERROR(trainer.Run(ctx));
  metrics.close();

  // Final model and evaluation.
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
  eval.sequence_length = packing.seq_len;
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
