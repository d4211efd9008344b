#include "trainer/train_task.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "data/hash.h"
#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "trainer/data_parallel.h"
#include "trainer/moe_loss.h"
#include "trainer/moe_model.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/stage_setup.h"
#include "trainer/task_support.h"
#include "trainer/train_metrics.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

// The auxiliary-loss coefficients of a stage, with the proto's defaults; `classifiers`:
// the model has LayerMoE sequence classifiers.
MoeLossOptions StageLossOptions(const v1::TrainStage& stage, bool classifiers) {
  const bool routers_only = stage.trainable() == v1::TRAINABLE_ROUTERS;
  const bool trains_experts = stage.trainable() == v1::TRAINABLE_UNSPECIFIED ||
                              stage.trainable() == v1::TRAINABLE_EXPERTS_AND_ROUTERS;
  MoeLossOptions o;
  o.balance_coef = stage.has_balance_loss_coef() ? stage.balance_loss_coef() : (trains_experts ? 0.01 : 0.0);
  o.lpr_coef = stage.has_lpr_loss_coef() ? stage.lpr_loss_coef()
                                          : (routers_only && !stage.old_languages().empty() ? 0.1 : 0.0);
  o.z_coef = stage.z_loss_coef();
  o.classifier_coef = stage.has_classifier_loss_coef()
                          ? stage.classifier_loss_coef()
                          : (classifiers && !stage.old_languages().empty() ? 1.0 : 0.0);
  return o;
}

std::string StageName(const v1::TrainStage& stage, int index) {
  return stage.name().empty() ? absl::StrCat("stage", index + 1) : stage.name();
}

// Loads the weights saved in `dir` into `lm` (every tensor must match).
absl::Status LoadInto(model::CausalLm& lm, const fs::path& dir) {
  NMOE_ASSIGN_OR_RETURN(auto checkpoint, safetensors::Checkpoint::Open(dir.string()));
  return model::LoadWeightsInto(lm, *checkpoint, /*strict_unexpected=*/true).status();
}

// Identity of the base checkpoint's weights, cheap at any model size: for every
// *.safetensors file and *.safetensors.index.json of `dir` (sorted by name), its name,
// size and modification time. A base retrained or replaced in place changes it (so its
// old stage checkpoints are not resumed); copying the folder without keeping times
// changes it too, which only costs a retrain.
// A stage folder belongs to one fingerprint (recorded in <dir>/fingerprint). A folder
// another spec left behind (its checkpoints cannot be resumed by this one), or one
// without a marker that is not empty, is moved aside to <dir>.replaced-<unix time>,
// never deleted, and the stage starts afresh.
absl::Status ClaimStageDir(TaskContext& ctx, const fs::path& dir, const std::string& fingerprint) {
  const fs::path marker = dir / "fingerprint";
  std::string recorded;
  {
    std::ifstream in(marker);
    if (in) std::getline(in, recorded);
  }
  if (recorded == fingerprint) return absl::OkStatus();
  std::error_code ec;
  // Anything else in the folder (also from before markers existed) is another run's.
  if (!recorded.empty() || !fs::is_empty(dir, ec)) {
    const fs::path aside = absl::StrCat(dir.string(), ".replaced-", absl::ToUnixSeconds(absl::Now()));
    fs::rename(dir, aside, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot move ", dir.string(), " aside: ", ec.message()));
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
    ctx.Warn(absl::StrCat("train: ", dir.string(), " held another spec's stage; moved it to ", aside.string(),
                          " and training the stage afresh"));
  }
  std::ofstream out(marker, std::ios::trunc);
  out << fingerprint << "\n";
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", marker.string()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> BaseWeightsFingerprint(const fs::path& dir) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool weights = name.size() > 12 && (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json"));
    if (!weights || !e.is_regular_file()) continue;
    const uintmax_t size = e.file_size(ec);
    if (ec) break;
    const auto mtime = e.last_write_time(ec);
    if (ec) break;
    entries.push_back(absl::StrCat(name, " ", size, " ", mtime.time_since_epoch().count()));
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
  if (entries.empty()) return absl::NotFoundError(absl::StrCat("no .safetensors file in ", dir.string()));
  std::sort(entries.begin(), entries.end());
  return absl::StrJoin(entries, "\n");
}

class TrainTask : public Task {
 public:
  absl::Status Run(TaskContext& ctx) override;

 private:
  // Runs stage `index` on `lm` (or loads its finished result).
  absl::Status RunStage(TaskContext& ctx, int index, model::CausalLm& lm);

  fs::path output_;
  RankSetup ranks_;
  bool bf16_ = false;
  std::optional<tokenizer::Tokenizer> tok_;
  fs::path tokenizer_path_;
  std::string tokenizer_sha_;
  std::string model_fingerprint_;  // plan, base model, seed
};

absl::Status TrainTask::Run(TaskContext& ctx) {
  const v1::TrainSpec& spec = ctx.task.spec().train();
  output_ = ctx.Resolve(spec.output_path());
  NMOE_ASSIGN_OR_RETURN(bf16_, UseBf16Autocast(ctx));
  NMOE_ASSIGN_OR_RETURN(ranks_, SetUpRank(ctx, output_, "train"));

  // Base model and tokenizer.
  const fs::path base_dir = ctx.Resolve(spec.base_model().path());
  tokenizer_path_ = spec.base_model().tokenizer_path().empty() ? base_dir / "tokenizer.json"
                                                               : ctx.Resolve(spec.base_model().tokenizer_path());
  NMOE_ASSIGN_OR_RETURN(tok_, tokenizer::Tokenizer::FromFile(tokenizer_path_.string()));
  NMOE_ASSIGN_OR_RETURN(tokenizer_sha_, data::Sha256File(tokenizer_path_.string()));
  NMOE_ASSIGN_OR_RETURN(model::LoadedModel base, model::LoadPretrained(base_dir.string()));

  // The plan.
  std::shared_ptr<model::CausalLm> lm = base.model;
  std::string plan_text = "dense (no plan)";
  if (spec.plan_id().empty() && spec.classifier_layers_size() > 0) {
    return absl::InvalidArgumentError("spec.train.classifier_layers: sequence classifiers need MoE layers (a plan_id)");
  }
  if (!spec.plan_id().empty()) {
    if (ctx.results == nullptr) return absl::InternalError("train: this runner provides no stored results");
    NMOE_ASSIGN_OR_RETURN(std::optional<v1::Plan> plan, ctx.results->GetPlan(spec.plan_id()));
    if (!plan) return absl::NotFoundError(absl::StrCat("spec.train.plan_id: no stored plan '", spec.plan_id(), "'"));
    std::vector<int64_t> experts(plan->experts_per_layer().begin(), plan->experts_per_layer().end());
    const int64_t top_k = spec.top_k() > 0 ? spec.top_k() : 2;
    const std::vector<int64_t> classifiers(spec.classifier_layers().begin(), spec.classifier_layers().end());
    auto built = BuildMoeModel(*base.model, experts, top_k, spec.seed(), classifiers);
    if (!built.ok()) {
      return absl::Status(built.status().code(),
                          absl::StrCat("plan ", spec.plan_id(), ": ", built.status().message()));
    }
    lm = *built;
    plan_text = absl::StrFormat("plan %s: experts per layer [%s], top-%d%s, %.2fM parameters (base %.2fM)",
                                spec.plan_id(), absl::StrJoin(experts, " "), top_k,
                                classifiers.empty() ? std::string()
                                                    : absl::StrCat(", sequence classifiers in layers ",
                                                                   absl::StrJoin(classifiers, " ")),
                                static_cast<double>(lm->config().NumParameters()) / 1e6,
                                static_cast<double>(base.model->config().NumParameters()) / 1e6);
  }
  base.model.reset();
  ctx.Info(absl::StrCat("train: ", plan_text));
  {
    NMOE_ASSIGN_OR_RETURN(std::string config_json, model::ModelConfigToJson(lm->config()));
    NMOE_ASSIGN_OR_RETURN(std::string base_config_sha,
                          data::Sha256File((base_dir / "config.json").string()));
    NMOE_ASSIGN_OR_RETURN(std::string base_weights, BaseWeightsFingerprint(base_dir));
    // The MoE config (experts per layer, top-k) stands for the plan: a plan with the
    // same layout under another id (a resubmitted pipeline) continues the same run.
    model_fingerprint_ = absl::StrCat(config_json, "\n", base_config_sha, "\n", base_weights, "\n", spec.seed(),
                                      "\n", tokenizer_sha_);
  }

  for (int i = 0; i < spec.stages_size(); ++i) {
    NMOE_RETURN_IF_ERROR(RunStage(ctx, i, *lm));
  }
  if (ranks_.rank != 0) {
    ctx.Info("train: done (rank 0 writes the model)");
    return absl::OkStatus();
  }
  model::SaveModelOptions save;
  save.tokenizer_json = tokenizer_path_.string();
  NMOE_RETURN_IF_ERROR(model::SavePretrained(*lm, output_.string(), save));
  ctx.Info(absl::StrCat("train: done; model written to ", output_.string()));
  return absl::OkStatus();
}

absl::Status TrainTask::RunStage(TaskContext& ctx, int index, model::CausalLm& lm) {
  const v1::TrainSpec& spec = ctx.task.spec().train();
  const v1::TrainStage& stage = spec.stages(index);
  const std::string name = StageName(stage, index);
  const std::string field = absl::StrCat("spec.train.stages[", index, "]");
  const fs::path stage_dir = ranks_.root / "stages" / absl::StrCat(index + 1, "-", name);
  std::error_code ec;
  fs::create_directories(stage_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", stage_dir.string(), ": ", ec.message()));

  // Data.
  const std::vector<LanguageFiles> corpora = ResolveCorpora(ctx, stage.corpora());
  NMOE_ASSIGN_OR_RETURN(const std::string corpus_fp, CorpusFingerprint(corpora));
  NMOE_ASSIGN_OR_RETURN(PreparedShards shards, PrepareShards(corpora, corpus_fp, *tok_, tokenizer_sha_,
                                                             ranks_.root / "data" / name,
                                                             [&](const std::string& l) { ctx.Info(l); }));
  NMOE_ASSIGN_OR_RETURN(const int64_t seq_len,
                        StageSequenceLength(stage, field, 1024, lm.config().max_position_embeddings));

  // Identity of this stage's run: what a checkpoint or finished stage must share.
  std::string stage_bytes;
  stage.SerializeToString(&stage_bytes);
  const std::string fingerprint =
      data::Sha256Hex(absl::StrCat(model_fingerprint_, "\n", index, "\n", stage_bytes, "\n", shards.fingerprint))
          .substr(0, 32);
  const fs::path done_path = stage_dir / "done.json";
  {
    std::ifstream done(done_path);
    if (done) {
      const auto j = nlohmann::json::parse(done, nullptr, false);
      if (j.is_object() && j.value("fingerprint", "") == fingerprint) {
        NMOE_RETURN_IF_ERROR(LoadInto(lm, stage_dir / "model"));
        ctx.Info(absl::StrCat("train: stage ", name, " finished earlier; loaded ", (stage_dir / "model").string()));
        return absl::OkStatus();
      }
      ctx.Warn(absl::StrCat("train: ", done_path.string(), " belongs to another spec; training the stage again"));
    }
  }
  NMOE_RETURN_IF_ERROR(ClaimStageDir(ctx, stage_dir, fingerprint));

  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<data::PackedLoader> loader,
                        OpenPackedLoader(shards, *tok_, seq_len, spec.seed() + static_cast<uint64_t>(index), ranks_.rank,
                                         ranks_.world_size));
  PackedBatchSource source(std::move(loader));
  NMOE_ASSIGN_OR_RETURN(TrainLoopOptions loop, StageLoopOptions(stage, field, ranks_.world_size));
  loop.stage = name;
  loop.bf16_autocast = bf16_;
  loop.checkpoint_interval = spec.checkpoint_interval_steps();
  loop.fingerprint = fingerprint;

  auto trainable = SelectTrainable(lm, stage.trainable());
  if (!trainable.ok()) return absl::Status(trainable.status().code(), absl::StrCat(field, ": ", trainable.status().message()));
  int64_t trained = 0;
  for (const at::Tensor& p : *trainable) trained += p.numel();

  MoeLossOptions loss_options = StageLossOptions(stage, !lm.config().classifier_layers.empty());
  std::set<std::string> old(stage.old_languages().begin(), stage.old_languages().end());
  for (const std::string& lang : shards.shard_languages) loss_options.old_shard.push_back(old.count(lang) > 0);
  MoeLoss loss(lm, loss_options);

  AdamWSettings adamw;
  adamw.lr = loop.schedule.peak_lr;
  adamw.weight_decay = stage.weight_decay();
  std::unique_ptr<torch::optim::AdamW> optimizer = BuildAdamW(lm, adamw);
  CheckpointStore store(stage_dir / "checkpoints", /*keep_last=*/2);
  MetricsLog metrics;
  TrainComponents parts;
  parts.parameters = *trainable;
  parts.optimizer = optimizer.get();
  parts.data = &source;
  parts.loss = [&loss](const Batch& b) { return loss(b); };
  parts.save_model = [&lm](const fs::path& dir) { return model::SavePretrained(lm, dir.string()); };
  parts.load_model = [&lm](const fs::path& dir) { return LoadInto(lm, dir); };
  parts.checkpoints = &store;
  parts.data_parallel = ranks_.gang();
  TrainMetrics exported(ctx.metrics, ctx.task.job_id(), name, loop.total_steps);
  parts.on_step = [&](const StepRecord& r) {
    nlohmann::json line = StepJson(r);
    const MoeLossParts& aux = loss.last();
    line["lm_loss"] = aux.lm;
    exported.RecordStep(r);
    exported.SetLoss("lm", aux.lm);
    if (loss_options.balance_coef > 0) {
      line["balance_loss"] = aux.balance;
      exported.SetLoss("balance", aux.balance);
    }
    if (loss_options.lpr_coef > 0) {
      line["lpr_loss"] = aux.lpr;
      exported.SetLoss("lpr", aux.lpr);
    }
    if (loss_options.z_coef > 0) {
      line["z_loss"] = aux.z;
      exported.SetLoss("z", aux.z);
    }
    if (loss.has_classifier()) {
      line["classifier_loss"] = aux.classifier;
      line["classifier_accuracy"] = aux.classifier_accuracy;
      exported.SetLoss("classifier", aux.classifier);
    }
    metrics.Append(line);
    exported.RecordRouting(loss.TakeRouting(), [&ctx](const std::string& text, bool dead) {
      if (dead) {
        ctx.Warn("train: " + text);
      } else {
        ctx.Info("train: " + text);
      }
    });
  };
  TrainLoop trainer(std::move(parts), loop);
  NMOE_ASSIGN_OR_RETURN(const uint64_t start_step, trainer.Resume(ctx));
  metrics.Open(stage_dir / "metrics.jsonl", start_step);
  ctx.Info(absl::StrFormat(
      "train: stage %s: %d steps of %d x %d tokens, peak lr %g, %d trained parameters, balance %g, LPR %g "
      "(old: %s), z %g%s; %s",
      name, loop.total_steps, loop.batch_sequences, seq_len, loop.schedule.peak_lr,
      trained, loss_options.balance_coef, loss_options.lpr_coef,
      old.empty() ? "none" : absl::StrJoin(old, ","), loss_options.z_coef,
      loss.has_classifier() ? absl::StrCat(", classifier ", loss_options.classifier_coef) : std::string(),
      start_step > 0 ? absl::StrCat("resuming at step ", start_step) : std::string("from the start")));
  NMOE_RETURN_IF_ERROR(trainer.Run(ctx));
  metrics.Close();

  NMOE_RETURN_IF_ERROR(model::SavePretrained(lm, (stage_dir / "model").string()));
  NMOE_RETURN_IF_ERROR(WriteFileAtomically(
      done_path, nlohmann::json{{"fingerprint", fingerprint}, {"steps", trainer.step()},
                                {"tokens", trainer.tokens_seen()}, {"seconds", trainer.elapsed_seconds()}}
                     .dump(2)));
  ctx.Info(absl::StrFormat("train: stage %s done, %d tokens in %.0f s", name, trainer.tokens_seen(),
                           trainer.elapsed_seconds()));
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Task> NewTrainTask() { return std::make_unique<TrainTask>(); }

}  // namespace nmoe::trainer
