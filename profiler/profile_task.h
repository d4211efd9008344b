// The profile job kind (JobSpec.profile, METHOD.md step 1): load the model and its
// tokenizer, select each language's sentences, run one forward pass over all of them
// collecting what the requested criteria need, score, select, and store:
//   - ctx.results: a NeuronStat per neuron, language and criterion (batched), and the
//     ProfileSummary (per-layer counts by component per language and criterion; the
//     per-layer language similarities when spec.layer_similarity);
//   - files in spec.output_path (default <work dir>/profile-<job id>): CSV/JSON exports
//     and SVG figures (profile_results.h).
// A single worker runs it whole; a gang shards sentences once comm/ is wired
// (profile_state.h holds the merge operations). docs/profiler.md.
// While it runs, each rank exports its progress and tokens/s to ctx.metrics
// (profile_metrics.h, docs/metrics.md).
#pragma once

#include <memory>

#include "common/task.h"

namespace nmoe::profiler {

std::unique_ptr<Task> NewProfileTask();

}  // namespace nmoe::profiler
