// The evaluate job kind (JobSpec.evaluate): held-out perplexity per language of a
// Hugging Face checkpoint folder (perplexity.h). EvaluateSpec has no output path, so
// the results go to the job's log (a table) and to
// <model.path>/eval-<job id>.json ({language: {documents, tokens, nll, perplexity}};
// characters of the id other than [A-Za-z0-9._-] become '_'). Sequence length 0 =
// 512; the model runs in the job's compute dtype.
#pragma once

#include <memory>
#include <string>

#include "common/task.h"

namespace nmoe::trainer {

std::unique_ptr<Task> NewEvaluateTask();

// "eval-<sanitised job id>.json".
std::string EvalFileName(const std::string& job_id);

}  // namespace nmoe::trainer
