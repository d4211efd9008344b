// The evaluate job kind (JobSpec.evaluate): held-out perplexity per language of a
// Hugging Face checkpoint folder (perplexity.h), dense or MoE, and for an MoE model the
// routing statistics of every MoE layer over the same tokens (routing_stats.h), counted
// per language. Results:
//   - a v1::Evaluation stored through ctx.results (job_id = the task's job): per
//     language documents, tokens, nll, perplexity and the unigram baseline of the
//     held-out text's own counts; per MoE layer the experts' assignments and token
//     shares (overall and per language), old_language_expert0_share for
//     spec.old_languages, dead experts; the model's n_l and parameter count;
//   - the job's log (tables);
//   - <model.path>/eval-<job id>.json ({language: {documents, tokens, nll, perplexity,
//     unigram_perplexity}}; characters of the id other than [A-Za-z0-9._-] become '_').
// Sequence length 0 = 512; the model runs in the job's compute dtype.
#pragma once

#include <memory>
#include <string>

#include "common/task.h"

namespace nmoe::trainer {

std::unique_ptr<Task> NewEvaluateTask();

// "eval-<sanitised job id>.json".
std::string EvalFileName(const std::string& job_id);

}  // namespace nmoe::trainer
