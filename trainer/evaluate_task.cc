#include "trainer/evaluate_task.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "model/checkpoint.h"
#include "trainer/routing_stats.h"
#include "trainer/task_support.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

// Logs one line per MoE layer: expert token shares and the old languages' expert-0 share.
void LogRouting(const TaskContext& ctx, const std::vector<v1::LayerRouting>& routing) {
  if (routing.empty()) return;
  ctx.Info("routing (token share per expert; old = old languages' share at expert 0):");
  for (const v1::LayerRouting& l : routing) {
    std::string shares;
    for (const v1::ExpertRouting& e : l.experts()) absl::StrAppend(&shares, absl::StrFormat(" %.3f", e.token_share()));
    std::string classified;
    for (const auto& [language, share] : l.classifier_old_share()) {
      absl::StrAppend(&classified, absl::StrFormat(" %s %.3f", language, share));
    }
    ctx.Info(absl::StrFormat("  layer %2d top-%d experts%s%s%s%s", l.layer(), l.top_k(), shares,
                             l.has_old_language_expert0_share()
                                 ? absl::StrFormat("  old %.3f", l.old_language_expert0_share())
                                 : "",
                             l.dead_experts() > 0 ? absl::StrCat("  dead ", l.dead_experts()) : "",
                             classified.empty() ? "" : absl::StrCat("  classified old:", classified)));
  }
}

class EvaluateTask : public Task {
 public:
  absl::Status Run(TaskContext& ctx) override {
    const v1::EvaluateSpec& spec = ctx.task.spec().evaluate();
    const fs::path model_dir = ctx.Resolve(spec.model().path());
    const fs::path tokenizer_path =
        spec.model().tokenizer_path().empty() ? model_dir / "tokenizer.json" : ctx.Resolve(spec.model().tokenizer_path());
    NMOE_ASSIGN_OR_RETURN(const bool bf16, UseBf16Autocast(ctx));
    NMOE_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, tokenizer::Tokenizer::FromFile(tokenizer_path.string()));
    NMOE_ASSIGN_OR_RETURN(model::LoadedModel loaded, model::LoadPretrained(model_dir.string()));
    loaded.model->eval();
    PerplexityOptions options;
    options.sequence_length = spec.sequence_length() > 0 ? spec.sequence_length() : 512;
    if (options.sequence_length > loaded.model->config().max_position_embeddings) {
      ctx.Warn(absl::StrCat("sequence_length ", options.sequence_length, " exceeds the model's max_position_embeddings ",
                            loaded.model->config().max_position_embeddings));
    }
    options.max_tokens = spec.max_tokens_per_language();
    options.bf16_autocast = bf16;
    options.heldout_unigram = true;
    std::vector<LanguagePerplexity> results;
    std::vector<v1::LayerRouting> routing;
    {
      RoutingCounter counter(*loaded.model);
      NMOE_ASSIGN_OR_RETURN(results, EvaluateHeldout(*loaded.model, tok, ResolveCorpora(ctx, spec.heldout()), options,
                                                     ctx, /*unigrams=*/nullptr, counter.empty() ? nullptr : &counter));
      routing = RoutingProtos(counter.counts(), {spec.old_languages().begin(), spec.old_languages().end()});
    }
    LogRouting(ctx, routing);
    const fs::path out = model_dir / EvalFileName(ctx.task.job_id());
    NMOE_RETURN_IF_ERROR(WriteFileAtomically(out, PerplexityJson(results)));
    ctx.Info(absl::StrCat("evaluate: wrote ", out.string()));

    v1::Evaluation evaluation;
    evaluation.set_job_id(ctx.task.job_id());
    evaluation.set_model_path(spec.model().path());
    const model::ModelConfig& config = loaded.model->config();
    for (int64_t n : config.experts_per_layer) evaluation.add_experts_per_layer(static_cast<uint32_t>(n));
    evaluation.set_parameters(static_cast<uint64_t>(config.NumParameters()));
    for (const LanguagePerplexity& r : results) {
      v1::LanguageEvaluation* l = evaluation.add_languages();
      l->set_language(r.language);
      l->set_documents(r.documents);
      l->set_tokens(r.tokens);
      l->set_nll(r.nll);
      l->set_perplexity(r.perplexity);
      l->set_unigram_perplexity(r.unigram_perplexity);
    }
    for (v1::LayerRouting& l : routing) *evaluation.add_routing() = std::move(l);
    *evaluation.mutable_create_time() = ToProtoTime(absl::Now());
    if (ctx.results == nullptr) return absl::FailedPreconditionError("evaluate: the runner gave no result store");
    NMOE_RETURN_IF_ERROR(ctx.results->PutEvaluation(evaluation));
    ctx.Info(absl::StrCat("evaluate: stored the evaluation of job ", ctx.task.job_id()));
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<Task> NewEvaluateTask() { return std::make_unique<EvaluateTask>(); }

std::string EvalFileName(const std::string& job_id) {
  std::string id = job_id.empty() ? "local" : job_id;
  for (char& c : id) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return absl::StrCat("eval-", id, ".json");
}

}  // namespace nmoe::trainer
