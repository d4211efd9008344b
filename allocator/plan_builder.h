// Turns an AllocateSpec and its inputs into a v1::Plan: the strategy's counts,
// the optional total budget, totals, added parameters and layer scores. The
// caller sets id, job_id and create_time.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "allocator/inputs.h"
#include "nmoe/v1/job_spec.pb.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe::allocator {

// `spec` with the documented defaults filled in (max_experts 6, budget 70,
// top_k 2, criterion AP): what a plan records as its inputs.
v1::AllocateSpec WithDefaults(const v1::AllocateSpec& spec);

// From a stored profile (`profile` may be null for uniform and manual plans).
// Uses spec.old_languages as HR / old and spec.new_languages as LR / new. Sizes the
// spec leaves at 0 come from the profile's model (WithProfileSizes): hidden_size and
// intermediate_size (added_parameters) and num_layers (every strategy; a uniform plan
// over a profile thus needs no num_layers). A nonzero num_layers that disagrees with
// the profile's is INVALID_ARGUMENT.
absl::StatusOr<v1::AllocateSpec> WithProfileSizes(const v1::AllocateSpec& spec, const v1::ProfileSummary* profile);
absl::StatusOr<v1::Plan> PlanFromProfile(const v1::AllocateSpec& spec, const v1::ProfileSummary* profile);

// Offline: the table's languages replace the spec's.
absl::StatusOr<v1::Plan> PlanFromNeuronCounts(const v1::AllocateSpec& spec, const NeuronCountTable& counts);
absl::StatusOr<v1::Plan> PlanFromSimilarity(const v1::AllocateSpec& spec, const SimilarityTable& similarity);

// The plan as JSON (proto field names: experts_per_layer, total_experts, ...)
// and back (plan.json files, `nmoectl plan compute -o json` output).
std::string PlanToJson(const v1::Plan& plan);
absl::StatusOr<v1::Plan> PlanFromJson(std::string_view json);

// "neuron-guided", "layer-similarity", "uniform", "manual" (and back).
std::string StrategyName(v1::AllocationStrategy strategy);
absl::StatusOr<v1::AllocationStrategy> ParseStrategy(std::string_view name);

}  // namespace nmoe::allocator
