// The pretrain job kind (JobSpec.pretrain): trains a small dense Llama from scratch
// on the given corpora and writes it in the Hugging Face layout
// (docs/training.md). Output folder (PretrainSpec.output_path):
//   config.json, model.safetensors, tokenizer.json   the final model (base_model.path
//                                                     of later jobs may point here)
//   eval.json                                         held-out perplexity per language, with
//                                                     the unigram baseline of the training text
//   metrics.jsonl                                     one line per optimizer step
//   checkpoints/step-N/                               resumable checkpoints (last 2)
//   data/                                             token shards (reused)
//   tokenizer.source.json                             when the tokenizer was trained here
// Rerunning the same spec on the same folder resumes from the newest valid
// checkpoint; a finished run only rewrites the final model and eval.json.
#pragma once

#include <memory>

#include "common/task.h"

namespace nmoe::trainer {

std::unique_ptr<Task> NewPretrainTask();

}  // namespace nmoe::trainer
