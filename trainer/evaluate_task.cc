#include "trainer/evaluate_task.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/checkpoint.h"
#include "trainer/task_support.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

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
    NMOE_ASSIGN_OR_RETURN(std::vector<LanguagePerplexity> results,
                          EvaluateHeldout(*loaded.model, tok, ResolveCorpora(ctx, spec.heldout()), options, ctx));
    const fs::path out = model_dir / EvalFileName(ctx.task.job_id());
    NMOE_RETURN_IF_ERROR(WriteFileAtomically(out, PerplexityJson(results)));
    ctx.Info(absl::StrCat("evaluate: wrote ", out.string()));
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
