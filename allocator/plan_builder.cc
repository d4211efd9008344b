#include "allocator/plan_builder.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nmoe::allocator {
namespace {

using S = v1::AllocationStrategy;

absl::StatusOr<v1::Plan> Finish(const v1::AllocateSpec& spec, LayerAllocation alloc, const std::vector<double>& priority) {
  const v1::AllocateSpec used = WithDefaults(spec);
  NMOE_ASSIGN_OR_RETURN(std::vector<uint32_t> experts, ApplyTotalBudget(alloc.experts, priority, used.total_budget()));
  v1::Plan plan;
  plan.set_profile_job_id(used.profile_job_id());
  plan.set_strategy(used.strategy());
  *plan.mutable_inputs() = used;
  for (uint32_t n : experts) plan.add_experts_per_layer(n);
  plan.set_total_experts(static_cast<uint32_t>(TotalExperts(experts)));
  plan.set_added_parameters(AddedParameters(experts, used.hidden_size(), used.intermediate_size()));
  for (double s : alloc.scores) plan.add_layer_scores(s);
  return plan;
}

std::vector<double> Inverse(const std::vector<double>& scores) {
  std::vector<double> out;
  for (double s : scores) out.push_back(1.0 / s);
  return out;
}

std::vector<std::string> List(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

}  // namespace

v1::AllocateSpec WithDefaults(const v1::AllocateSpec& spec) {
  v1::AllocateSpec out = spec;
  if (out.strategy() == S::ALLOCATION_STRATEGY_NEURON_GUIDED) {
    if (out.max_experts() == 0) out.set_max_experts(kDefaultMaxExperts);
    if (out.criterion() == v1::NEURON_CRITERION_UNSPECIFIED) out.set_criterion(v1::NEURON_CRITERION_AP);
  }
  if (out.strategy() == S::ALLOCATION_STRATEGY_LAYER_SIMILARITY && out.budget() == 0) out.set_budget(kDefaultBudget);
  if (out.top_k() == 0) out.set_top_k(kDefaultTopK);
  return out;
}

absl::StatusOr<v1::Plan> PlanFromNeuronCounts(const v1::AllocateSpec& spec, const NeuronCountTable& counts) {
  v1::AllocateSpec s = spec;
  s.set_strategy(S::ALLOCATION_STRATEGY_NEURON_GUIDED);
  s.clear_old_languages();
  s.clear_new_languages();
  for (const auto& l : counts.high_resource) s.add_old_languages(l);
  for (const auto& l : counts.low_resource) s.add_new_languages(l);
  NMOE_ASSIGN_OR_RETURN(LayerAllocation alloc, AllocateNeuronGuided(counts, s.max_experts()));
  const std::vector<double> priority = alloc.scores;
  return Finish(s, std::move(alloc), priority);
}

absl::StatusOr<v1::Plan> PlanFromSimilarity(const v1::AllocateSpec& spec, const SimilarityTable& similarity) {
  v1::AllocateSpec s = spec;
  s.set_strategy(S::ALLOCATION_STRATEGY_LAYER_SIMILARITY);
  s.clear_old_languages();
  s.clear_new_languages();
  for (const auto& l : similarity.old_languages) s.add_old_languages(l);
  for (const auto& l : similarity.new_languages) s.add_new_languages(l);
  NMOE_ASSIGN_OR_RETURN(LayerAllocation alloc, AllocateLayerSimilarity(similarity, s.budget()));
  const std::vector<double> priority = Inverse(alloc.scores);
  return Finish(s, std::move(alloc), priority);
}

absl::StatusOr<v1::AllocateSpec> WithProfileSizes(const v1::AllocateSpec& spec, const v1::ProfileSummary* profile) {
  v1::AllocateSpec s = spec;
  if (profile == nullptr) return s;
  if (s.hidden_size() == 0) s.set_hidden_size(profile->hidden_size());
  if (s.intermediate_size() == 0) s.set_intermediate_size(profile->intermediate_size());
  if (profile->num_layers() != 0) {
    if (s.num_layers() == 0) {
      s.set_num_layers(profile->num_layers());
    } else if (s.num_layers() != profile->num_layers()) {
      return absl::InvalidArgumentError(absl::StrCat("num_layers is ", s.num_layers(), " but profile ", profile->job_id(),
                                                     " was taken on a model with ", profile->num_layers(), " layers"));
    }
  }
  return s;
}

absl::StatusOr<v1::Plan> PlanFromProfile(const v1::AllocateSpec& given, const v1::ProfileSummary* profile) {
  NMOE_ASSIGN_OR_RETURN(const v1::AllocateSpec spec, WithProfileSizes(given, profile));
  switch (spec.strategy()) {
    case S::ALLOCATION_STRATEGY_NEURON_GUIDED: {
      if (profile == nullptr) return absl::InvalidArgumentError("neuron-guided allocation needs a profile");
      NMOE_ASSIGN_OR_RETURN(NeuronCountTable counts,
                            NeuronCountsFromSummary(*profile, spec.criterion(), List(spec.old_languages()),
                                                    List(spec.new_languages()), spec.num_layers()));
      return PlanFromNeuronCounts(spec, counts);
    }
    case S::ALLOCATION_STRATEGY_LAYER_SIMILARITY: {
      if (profile == nullptr) return absl::InvalidArgumentError("layer-similarity allocation needs a profile");
      NMOE_ASSIGN_OR_RETURN(SimilarityTable table, SimilarityFromSummary(*profile, List(spec.new_languages()),
                                                                         List(spec.old_languages()), spec.num_layers()));
      return PlanFromSimilarity(spec, table);
    }
    case S::ALLOCATION_STRATEGY_UNIFORM: {
      uint32_t layers = spec.num_layers();
      if (layers == 0 && profile != nullptr) {
        for (const auto& lp : profile->languages()) {
          for (const auto& lc : lp.layers()) layers = std::max(layers, lc.layer() + 1);
        }
        for (const auto& ls : profile->similarities()) layers = std::max(layers, ls.layer() + 1);
      }
      NMOE_ASSIGN_OR_RETURN(LayerAllocation alloc, Uniform(layers, spec.uniform_experts()));
      v1::AllocateSpec s = spec;
      s.set_num_layers(layers);
      return Finish(s, std::move(alloc), {});
    }
    case S::ALLOCATION_STRATEGY_MANUAL: {
      std::vector<uint32_t> experts(spec.manual_experts().begin(), spec.manual_experts().end());
      if (spec.num_layers() != 0 && spec.num_layers() != experts.size()) {
        return absl::InvalidArgumentError(absl::StrCat("manual: ", experts.size(), " layers given but num_layers is ",
                                                       spec.num_layers()));
      }
      NMOE_ASSIGN_OR_RETURN(LayerAllocation alloc, Manual(experts));
      return Finish(spec, std::move(alloc), {});
    }
    default: break;
  }
  return absl::InvalidArgumentError("no allocation strategy given");
}

std::string PlanToJson(const v1::Plan& plan) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(plan, &json, options);
  return json;
}

absl::StatusOr<v1::Plan> PlanFromJson(std::string_view json) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  v1::Plan plan;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &plan, options);
  if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat("not a plan: ", status.ToString()));
  if (plan.experts_per_layer().empty()) return absl::InvalidArgumentError("not a plan: no experts_per_layer");
  return plan;
}

std::string StrategyName(v1::AllocationStrategy strategy) {
  switch (strategy) {
    case S::ALLOCATION_STRATEGY_NEURON_GUIDED: return "neuron-guided";
    case S::ALLOCATION_STRATEGY_LAYER_SIMILARITY: return "layer-similarity";
    case S::ALLOCATION_STRATEGY_UNIFORM: return "uniform";
    case S::ALLOCATION_STRATEGY_MANUAL: return "manual";
    default: return "unspecified";
  }
}

absl::StatusOr<v1::AllocationStrategy> ParseStrategy(std::string_view name) {
  for (S s : {S::ALLOCATION_STRATEGY_NEURON_GUIDED, S::ALLOCATION_STRATEGY_LAYER_SIMILARITY, S::ALLOCATION_STRATEGY_UNIFORM,
              S::ALLOCATION_STRATEGY_MANUAL}) {
    if (StrategyName(s) == name) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown strategy '", std::string(name), "' (neuron-guided, layer-similarity, uniform or manual)"));
}

}  // namespace nmoe::allocator
