// The train job kind (JobSpec.train): NeuronMoE step 3. Builds the MoE model from a
// dense base checkpoint and a stored plan (or trains the dense model when plan_id is
// empty), then runs the stages in order (stage 1: new experts and routers on the new
// languages with the balance loss; stage 2: routers only, new + old languages, with
// the LPR loss). docs/training.md, "MoE training". Output folder (output_path):
//   config.json, model.safetensors, tokenizer.json   the final model (experts per
//                                                     layer in config.json)
//   stages/<k>-<name>/metrics.jsonl                   one line per step, with the aux losses
//   stages/<k>-<name>/checkpoints/step-N/             resumable checkpoints (last 2)
//   stages/<k>-<name>/model/ + done.json              the stage's final model
//   data/<name>/                                      token shards of the stage's corpora
// Rerunning the same spec resumes: finished stages are loaded, the running one
// continues from its newest valid checkpoint.
#pragma once

#include <memory>

#include "common/task.h"

namespace nmoe::trainer {

std::unique_ptr<Task> NewTrainTask();

}  // namespace nmoe::trainer
