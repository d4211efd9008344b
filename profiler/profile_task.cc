#include "profiler/profile_task.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "compute/cpu_features.h"
#include "compute/dtype.h"
#include "model/checkpoint.h"
#include "profiler/gang_profile.h"
#include "profiler/profile_metrics.h"
#include "profiler/profile_results.h"
#include "profiler/profile_run.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::profiler {
namespace fs = std::filesystem;
namespace {

std::string SafeId(const std::string& job_id) {
  std::string id = job_id.empty() ? "local" : job_id;
  for (char& c : id) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return id;
}

absl::StatusOr<bool> UseBf16(const TaskContext& ctx) {
  const v1::Resources& r = ctx.task.spec().resources();
  if (r.device() == v1::DEVICE_KIND_CUDA) {
    return absl::FailedPreconditionError("this worker profiles on the CPU only (resources.device is CUDA)");
  }
  NMOE_ASSIGN_OR_RETURN(compute::DtypeChoice choice,
                        compute::ResolveComputeDtype(r.dtype(), r.device(), compute::DetectCpuFeatures(), std::nullopt));
  ctx.Info(absl::StrCat("compute dtype ", compute::ComputeDtypeName(choice.dtype), ": ", choice.reason));
  return choice.dtype == compute::ComputeDtype::kBf16;
}

// The profiled model's sizes, for allocations made from this profile.
void SetModelSizes(const model::ModelConfig& c, v1::ProfileSummary& summary) {
  summary.set_num_layers(static_cast<uint32_t>(c.num_hidden_layers));
  summary.set_hidden_size(static_cast<uint32_t>(c.hidden_size));
  summary.set_intermediate_size(static_cast<uint32_t>(c.intermediate_size));
  if (!c.experts_per_layer.empty()) {
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) summary.add_experts_per_layer(static_cast<uint32_t>(c.ExpertsInLayer(l)));
  }
}

class ProfileTask : public Task {
 public:
  absl::Status Run(TaskContext& ctx) override {
    const v1::ProfileSpec& spec = ctx.task.spec().profile();
    // A gang (gang_profile.h): every rank runs its share of the batches; rank 0 stores
    // the results and writes the files.
    const int world = std::max<int>(1, static_cast<int>(ctx.task.world_size()));
    const int rank = static_cast<int>(ctx.task.rank());
    if (world > 1 && ctx.comm == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("profile: ", world, " ranks but this runner gave the task no communicator"));
    }
    if (world > 1 && (ctx.comm->world_size() != world || ctx.comm->rank() != rank)) {
      return absl::FailedPreconditionError(absl::StrCat("profile: task is rank ", rank, " of ", world,
                                                        " but the communicator is rank ", ctx.comm->rank(), " of ",
                                                        ctx.comm->world_size()));
    }
    const fs::path model_dir = ctx.Resolve(spec.model().path());
    const fs::path tokenizer_path =
        spec.model().tokenizer_path().empty() ? model_dir / "tokenizer.json" : ctx.Resolve(spec.model().tokenizer_path());
    const fs::path out_dir = spec.output_path().empty() ? ctx.work_dir / absl::StrCat("profile-", SafeId(ctx.task.job_id()))
                                                        : ctx.Resolve(spec.output_path());
    NMOE_ASSIGN_OR_RETURN(const bool bf16, UseBf16(ctx));
    NMOE_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, tokenizer::Tokenizer::FromFile(tokenizer_path.string()));
    NMOE_ASSIGN_OR_RETURN(model::LoadedModel loaded, model::LoadPretrained(model_dir.string()));
    loaded.model->eval();

    RunOptions run;
    for (int c : spec.criteria()) {
      if (c == v1::NEURON_CRITERION_LAPE) run.collect.lape = true;
      if (c == v1::NEURON_CRITERION_AP || c == v1::NEURON_CRITERION_UNSPECIFIED) run.collect.ap = true;
    }
    if (spec.criteria().empty()) run.collect.ap = true;
    run.collect.similarity = spec.layer_similarity();
    run.collect.similarity_tokens = spec.similarity_tokens_per_language() > 0 ? spec.similarity_tokens_per_language() : 100'000;
    for (int c : spec.components()) run.projs.push_back(static_cast<Proj>(c - 1));
    run.memory_budget_bytes = static_cast<uint64_t>(spec.memory_budget_mb() > 0 ? spec.memory_budget_mb() : 2048) << 20;
    run.spill_dir = world > 1 ? out_dir / absl::StrCat("spill-rank-", rank) : out_dir / "spill";
    run.rank = rank;
    run.world = world;
    run.bf16_autocast = bf16;
    run.stop = [&ctx] { return ctx.StopRequested(); };
    const auto start = std::chrono::steady_clock::now();

    std::vector<LanguageCorpus> corpora;
    std::vector<std::string> languages;
    for (const v1::Corpus& c : spec.corpora()) {
      LanguageCorpus lc{c.language(), {}};
      for (const std::string& p : c.paths()) lc.paths.push_back(ctx.Resolve(p).string());
      corpora.push_back(std::move(lc));
      languages.push_back(c.language());
    }
    SentenceOptions sentences;
    sentences.per_language = spec.sentences_per_language() > 0 ? spec.sentences_per_language() : 500;
    sentences.max_tokens = spec.max_sentence_tokens() > 0 ? spec.max_sentence_tokens() : 256;
    sentences.seed = spec.seed();
    NMOE_ASSIGN_OR_RETURN(std::vector<ProfileSentence> picked, LoadSentences(corpora, tok, sentences));
    for (const ProfileSentence& s : picked) {
      for (int32_t id : s.ids) {
        if (id < 0 || id >= loaded.model->config().vocab_size) {
          return absl::InvalidArgumentError(absl::StrCat("profile: token id ", id, " of the tokenizer is outside the model's vocabulary (",
                                                         loaded.model->config().vocab_size, ")"));
        }
      }
    }
    const std::vector<SentenceBatch> batches =
        MakeBatches(picked, spec.batch_tokens() > 0 ? spec.batch_tokens() : 4096, tok.eos_id().value_or(0));
    ctx.Info(absl::StrCat("profile: ", picked.size(), " sentences in ", languages.size(), " languages, ", batches.size(),
                          " batches"));
    int64_t share = 0;  // this rank's sentences
    for (size_t i = 0; i < batches.size(); ++i) {
      if (RunsBatch(i, rank, world)) share += static_cast<int64_t>(batches[i].sentence_ids.size());
    }
    ProfileMetrics exported(ctx.metrics, ctx.task.job_id(), rank, share);
    const auto collect_start = std::chrono::steady_clock::now();
    run.progress = [&ctx, &exported, collect_start](int64_t done, int64_t total, uint64_t tokens) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - collect_start).count();
      exported.Record(done, tokens, s);
      v1::Progress p;
      p.set_stage("profile");
      p.set_done(static_cast<uint64_t>(done));
      p.set_total(static_cast<uint64_t>(total));
      p.set_unit("sentences");
      if (s > 0) p.set_rate_per_second(static_cast<double>(done) / s);
      ctx.report_progress(p);
    };
    NMOE_ASSIGN_OR_RETURN(CollectedProfile collected, CollectProfile(*loaded.model, languages, batches, run));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.Info(absl::StrFormat("profile: %d sentences, %d tokens, %d neurons in %.1f s (%.0f tokens/s)%s",
                             collected.sentences, collected.tokens, collected.space.size(), seconds,
                             static_cast<double>(collected.tokens) / std::max(seconds, 1e-9),
                             collected.responses && collected.responses->spilled()
                                 ? absl::StrCat("; responses spilled in ", collected.responses->num_chunks(), " chunks")
                                 : ""));

    ScoreOptions score;
    score.top_n = spec.top_n() > 0 ? spec.top_n() : 1000;
    score.lape.top_fraction = spec.lape_top_fraction() > 0 ? spec.lape_top_fraction() : 0.01;
    score.lape.percentile = spec.lape_percentile() > 0 ? spec.lape_percentile() : 95.0;
    score.threads = std::max(1, static_cast<int>(ctx.task.spec().resources().threads_per_worker()));
    NMOE_ASSIGN_OR_RETURN(ProfileScores scores,
                          world > 1 ? ScoreProfileOnGang(*ctx.comm, collected, score) : ScoreProfile(collected, score));
    collected.responses.reset();  // removes spill files
    std::error_code ec;
    fs::remove(run.spill_dir, ec);
    if (rank != 0) {
      ctx.Info(absl::StrCat("profile: rank ", rank, " of ", world, " done; rank 0 stores the results"));
      return absl::OkStatus();
    }

    const std::string& job_id = ctx.task.job_id();
    v1::ProfileSummary summary = MakeSummary(job_id, collected.space, languages, scores);
    SetModelSizes(loaded.model->config(), summary);
    if (ctx.results == nullptr) return absl::FailedPreconditionError("profile: the runner gave no result sink");
    NMOE_RETURN_IF_ERROR(StoreNeuronStats(*ctx.results, job_id, collected.space, languages, scores));
    NMOE_RETURN_IF_ERROR(ctx.results->PutProfileSummary(summary));
    NMOE_RETURN_IF_ERROR(WriteProfileFiles(out_dir, collected.space, languages, scores, summary));
    for (size_t l = 0; l < languages.size(); ++l) {
      std::string line = absl::StrCat("profile: ", languages[l]);
      if (!scores.ap_selected.empty()) absl::StrAppend(&line, " ap selected ", scores.ap_selected[l].size());
      if (scores.lape) absl::StrAppend(&line, " lape selected ", scores.lape->selected[l].size());
      ctx.Info(line);
    }
    ctx.Info(absl::StrCat("profile: wrote ", out_dir.string()));
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<Task> NewProfileTask() { return std::make_unique<ProfileTask>(); }

}  // namespace nmoe::profiler
