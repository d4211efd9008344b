// A pipeline job's stages and the child job each one submits (docs/pipeline.md).
//
// PipelineStages() turns a validated PipelineSpec into the fixed list of stages,
// in dependency order:
//   pretrain                (only without base_model.path)
//   profile, evaluate/base  (need pretrain when it exists)
//   allocate/<plan>         (need profile; uniform without uniform_experts also
//                            needs allocate/neuron-guided: same mean experts per layer)
//   train/<plan>            (needs allocate/<plan>)
//   evaluate/<plan>, reprofile/<plan>  (need train/<plan>)
// <plan> is the strategy's name (neuron-guided, layer-similarity, uniform, manual),
// with "-2", "-3", ... when a strategy repeats.
//
// ChildSpec() builds the JobSpec of one stage once the stages it needs have
// succeeded; it reads what it needs (child job ids, plans) through `outputs`.
// The result depends only on the pipeline spec and those outputs, so submitting
// it again after a crash (same idempotency key) finds the same job.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe::coordinator {

// Defaults of the stages a pipeline trains when it names none.
inline constexpr uint64_t kDefaultStage1Steps = 200;
inline constexpr uint64_t kDefaultStage2Steps = 50;

// What ChildSpec needs to know about finished stages.
struct StageOutputs {
  // The child job id of a succeeded stage; nullopt when the stage has none.
  std::function<std::optional<std::string>(const std::string& stage)> job_id;
  // The plan an allocate job stored; NOT_FOUND when it stored none.
  std::function<absl::StatusOr<v1::Plan>(const std::string& allocate_job_id)> plan_of_job;
};

// The pipeline's output folder: spec.output_path, or "pipelines/<job id>".
std::string PipelineOutputPath(const v1::Job& pipeline);

// Stages of `pipeline` (a validated pipeline job), state UNSPECIFIED, no job ids.
std::vector<v1::PipelineStage> PipelineStages(const v1::Job& pipeline);

// The child job's spec for `stage`. FAILED_PRECONDITION when an output it needs is missing.
absl::StatusOr<v1::JobSpec> ChildSpec(const v1::Job& pipeline, const v1::PipelineStage& stage,
                                      const StageOutputs& outputs);

// "<pipeline id>:<stage name with '/' as '.'>": the child's idempotency key.
std::string ChildIdempotencyKey(const std::string& pipeline_id, const std::string& stage);

// A stage name split at its first '/': "train/uniform" -> {"train", "uniform"},
// "profile" -> {"profile", ""}.
struct StageName {
  std::string step;
  std::string plan;  // the plan label, "base" (evaluate/base) or empty
};
StageName SplitStageName(const std::string& name);

// "neuron-guided", "layer-similarity", "uniform", "manual".
std::string StrategyLabel(v1::AllocationStrategy strategy);

}  // namespace nmoe::coordinator
