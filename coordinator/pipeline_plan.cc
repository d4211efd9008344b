#include "coordinator/pipeline_plan.h"

#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"

namespace nmoe::coordinator {
namespace {

using absl::StrCat;

constexpr size_t kMaxChildNameBytes = 256;

// One plan of the pipeline: its allocation parameters and its stage label.
struct PlanEntry {
  v1::AllocateSpec allocate;
  std::string label;
};

std::vector<PlanEntry> Plans(const v1::PipelineSpec& spec) {
  std::vector<v1::AllocateSpec> allocations(spec.allocations().begin(), spec.allocations().end());
  if (allocations.empty()) {
    for (auto strategy : {v1::ALLOCATION_STRATEGY_NEURON_GUIDED, v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY,
                          v1::ALLOCATION_STRATEGY_UNIFORM}) {
      allocations.emplace_back().set_strategy(strategy);
    }
  }
  std::vector<PlanEntry> plans;
  std::map<std::string, int> seen;
  for (auto& a : allocations) {
    if (a.strategy() == v1::ALLOCATION_STRATEGY_UNSPECIFIED) a.set_strategy(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
    const std::string base = StrategyLabel(a.strategy());
    const int n = ++seen[base];
    plans.push_back({a, n == 1 ? base : StrCat(base, "-", n)});
  }
  return plans;
}

bool UsesLayerSimilarity(const std::vector<PlanEntry>& plans) {
  for (const auto& p : plans) {
    if (p.allocate.strategy() == v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY) return true;
  }
  return false;
}

// The neuron-guided plan a uniform plan without uniform_experts takes its mean from.
std::optional<std::string> UniformReference(const std::vector<PlanEntry>& plans, const PlanEntry& plan) {
  if (plan.allocate.strategy() != v1::ALLOCATION_STRATEGY_UNIFORM || plan.allocate.uniform_experts() != 0) {
    return std::nullopt;
  }
  for (const auto& p : plans) {
    if (p.allocate.strategy() == v1::ALLOCATION_STRATEGY_NEURON_GUIDED) return p.label;
  }
  return std::nullopt;
}

const PlanEntry* FindPlan(const std::vector<PlanEntry>& plans, const std::string& label) {
  for (const auto& p : plans) {
    if (p.label == label) return &p;
  }
  return nullptr;
}

v1::PipelineStage Stage(const std::string& name, v1::JobKind kind, std::vector<std::string> needs,
                        const std::string& output_path) {
  v1::PipelineStage stage;
  stage.set_name(name);
  stage.set_kind(kind);
  for (auto& n : needs) stage.add_needs(std::move(n));
  stage.set_output_path(output_path);
  return stage;
}

bool HasPretrain(const v1::PipelineSpec& spec) { return spec.base_model().path().empty(); }

// The dense base model: the given one, or the pretrain stage's output.
v1::ModelRef BaseModel(const v1::Job& pipeline) {
  const auto& spec = pipeline.spec().pipeline();
  if (!HasPretrain(spec)) return spec.base_model();
  v1::ModelRef model;
  model.set_path(StrCat(PipelineOutputPath(pipeline), "/pretrain"));
  return model;
}

// Corpora of `languages`, in the pipeline's order.
void CorporaOf(const v1::PipelineSpec& spec, const std::set<std::string>& languages,
               google::protobuf::RepeatedPtrField<v1::Corpus>* out) {
  for (const auto& c : spec.corpora()) {
    if (languages.count(c.language())) *out->Add() = c;
  }
}

std::set<std::string> Languages(const google::protobuf::RepeatedPtrField<std::string>& a) {
  return {a.begin(), a.end()};
}

std::set<std::string> AllLanguages(const v1::PipelineSpec& spec) {
  std::set<std::string> all = Languages(spec.old_languages());
  for (const auto& l : spec.new_languages()) all.insert(l);
  return all;
}

absl::StatusOr<std::string> NeededJob(const StageOutputs& outputs, const std::string& stage) {
  auto id = outputs.job_id(stage);
  if (!id.has_value()) return absl::FailedPreconditionError(StrCat("stage ", stage, " has not succeeded"));
  return *id;
}

v1::PretrainSpec PretrainChild(const v1::Job& pipeline, const std::string& output) {
  const auto& spec = pipeline.spec().pipeline();
  v1::PretrainSpec p = spec.pretrain();
  // The dense base knows the old languages; the new ones are what the MoE adds.
  if (p.stage().corpora().empty()) CorporaOf(spec, Languages(spec.old_languages()), p.mutable_stage()->mutable_corpora());
  if (p.heldout().empty()) *p.mutable_heldout() = spec.heldout();
  p.set_output_path(output);
  if (p.checkpoint_interval_steps() == 0) p.set_checkpoint_interval_steps(spec.checkpoint_interval_steps());
  if (p.seed() == 0) p.set_seed(spec.seed());
  return p;
}

v1::ProfileSpec ProfileChild(const v1::Job& pipeline, const v1::ModelRef& model, bool layer_similarity,
                             const std::string& output) {
  const auto& spec = pipeline.spec().pipeline();
  v1::ProfileSpec p = spec.profile();
  *p.mutable_model() = model;
  if (p.corpora().empty()) CorporaOf(spec, AllLanguages(spec), p.mutable_corpora());
  p.set_layer_similarity(layer_similarity);
  p.set_output_path(output);
  if (p.seed() == 0) p.set_seed(spec.seed());
  return p;
}

v1::EvaluateSpec EvaluateChild(const v1::Job& pipeline, const v1::ModelRef& model) {
  const auto& spec = pipeline.spec().pipeline();
  v1::EvaluateSpec e = spec.evaluate();
  *e.mutable_model() = model;
  *e.mutable_heldout() = spec.heldout();
  *e.mutable_old_languages() = spec.old_languages();
  return e;
}

// The stages of every trained model: the pipeline's, or stage 1 (new experts and
// routers on the new languages) and stage 2 (routers on all, with the LPR loss).
google::protobuf::RepeatedPtrField<v1::TrainStage> TrainStages(const v1::PipelineSpec& spec) {
  google::protobuf::RepeatedPtrField<v1::TrainStage> stages = spec.stages();
  if (stages.empty()) {
    auto* s1 = stages.Add();
    s1->set_name("stage1");
    s1->set_trainable(v1::TRAINABLE_EXPERTS_AND_ROUTERS);
    s1->set_steps(kDefaultStage1Steps);
    auto* s2 = stages.Add();
    s2->set_name("stage2");
    s2->set_trainable(v1::TRAINABLE_ROUTERS);
    s2->set_steps(kDefaultStage2Steps);
  }
  for (auto& s : stages) {
    const bool routers_only = s.trainable() == v1::TRAINABLE_ROUTERS;
    if (s.corpora().empty()) {
      CorporaOf(spec, routers_only ? AllLanguages(spec) : Languages(spec.new_languages()), s.mutable_corpora());
    }
    if (routers_only && s.old_languages().empty()) *s.mutable_old_languages() = spec.old_languages();
  }
  return stages;
}

absl::StatusOr<v1::AllocateSpec> AllocateChild(const v1::Job& pipeline, const std::vector<PlanEntry>& plans,
                                               const PlanEntry& plan, const std::string& output,
                                               const StageOutputs& outputs) {
  const auto& spec = pipeline.spec().pipeline();
  v1::AllocateSpec a = plan.allocate;
  NMOE_ASSIGN_OR_RETURN(std::string profile_job, NeededJob(outputs, "profile"));
  a.set_profile_job_id(profile_job);
  if (a.old_languages().empty()) *a.mutable_old_languages() = spec.old_languages();
  if (a.new_languages().empty()) *a.mutable_new_languages() = spec.new_languages();
  if (a.top_k() == 0) a.set_top_k(spec.top_k());
  a.set_output_path(output);
  if (auto reference = UniformReference(plans, plan)) {
    NMOE_ASSIGN_OR_RETURN(std::string ng_job, NeededJob(outputs, StrCat("allocate/", *reference)));
    NMOE_ASSIGN_OR_RETURN(v1::Plan ng, outputs.plan_of_job(ng_job));
    if (ng.experts_per_layer().empty()) {
      return absl::FailedPreconditionError(StrCat("plan ", ng.id(), " has no layers"));
    }
    const double mean = static_cast<double>(ng.total_experts()) / ng.experts_per_layer_size();
    a.set_uniform_experts(std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(mean))));
  }
  return a;
}

}  // namespace

std::string StrategyLabel(v1::AllocationStrategy strategy) {
  switch (strategy) {
    case v1::ALLOCATION_STRATEGY_UNSPECIFIED:
    case v1::ALLOCATION_STRATEGY_NEURON_GUIDED: return "neuron-guided";
    case v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY: return "layer-similarity";
    case v1::ALLOCATION_STRATEGY_UNIFORM: return "uniform";
    case v1::ALLOCATION_STRATEGY_MANUAL: return "manual";
    default: return StrCat("strategy-", static_cast<int>(strategy));
  }
}

StageName SplitStageName(const std::string& name) {
  const size_t slash = name.find('/');
  if (slash == std::string::npos) return {name, ""};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

std::string PipelineOutputPath(const v1::Job& pipeline) {
  const std::string& path = pipeline.spec().pipeline().output_path();
  return path.empty() ? StrCat("pipelines/", pipeline.id()) : path;
}

std::string ChildIdempotencyKey(const std::string& pipeline_id, const std::string& stage) {
  return StrCat(pipeline_id, ":", absl::StrReplaceAll(stage, {{"/", "."}}));
}

std::vector<v1::PipelineStage> PipelineStages(const v1::Job& pipeline) {
  const auto& spec = pipeline.spec().pipeline();
  const std::string out = PipelineOutputPath(pipeline);
  const std::vector<PlanEntry> plans = Plans(spec);
  const bool reprofile = !spec.has_reprofile() || spec.reprofile();
  std::vector<std::string> base_needs;
  std::vector<v1::PipelineStage> stages;
  if (HasPretrain(spec)) {
    stages.push_back(Stage("pretrain", v1::JOB_KIND_PRETRAIN, {}, StrCat(out, "/pretrain")));
    base_needs.push_back("pretrain");
  }
  stages.push_back(Stage("profile", v1::JOB_KIND_PROFILE, base_needs, StrCat(out, "/profile")));
  stages.push_back(Stage("evaluate/base", v1::JOB_KIND_EVALUATE, base_needs, ""));
  for (const auto& plan : plans) {
    std::vector<std::string> needs = {"profile"};
    if (auto reference = UniformReference(plans, plan)) needs.push_back(StrCat("allocate/", *reference));
    stages.push_back(Stage(StrCat("allocate/", plan.label), v1::JOB_KIND_ALLOCATE, needs,
                           StrCat(out, "/plans/", plan.label)));
  }
  for (const auto& plan : plans) {
    std::vector<std::string> needs = base_needs;
    needs.push_back(StrCat("allocate/", plan.label));
    stages.push_back(
        Stage(StrCat("train/", plan.label), v1::JOB_KIND_TRAIN, needs, StrCat(out, "/train/", plan.label)));
  }
  for (const auto& plan : plans) {
    const std::string train = StrCat("train/", plan.label);
    stages.push_back(Stage(StrCat("evaluate/", plan.label), v1::JOB_KIND_EVALUATE, {train}, ""));
    if (reprofile) {
      stages.push_back(Stage(StrCat("reprofile/", plan.label), v1::JOB_KIND_PROFILE, {train},
                             StrCat(out, "/reprofile/", plan.label)));
    }
  }
  return stages;
}

absl::StatusOr<v1::JobSpec> ChildSpec(const v1::Job& pipeline, const v1::PipelineStage& stage,
                                      const StageOutputs& outputs) {
  const auto& spec = pipeline.spec().pipeline();
  const std::vector<PlanEntry> plans = Plans(spec);
  const std::string& name = stage.name();
  const auto [step, label] = SplitStageName(name);

  v1::JobSpec child;
  const std::string parent_name = pipeline.spec().name().empty() ? pipeline.id() : pipeline.spec().name();
  child.set_name(StrCat(parent_name, "/", name).substr(0, kMaxChildNameBytes));
  (*child.mutable_labels())["pipeline"] = pipeline.id();
  (*child.mutable_labels())["stage"] = name;
  *child.mutable_resources() = pipeline.spec().resources();
  if (pipeline.spec().has_max_restarts()) child.set_max_restarts(pipeline.spec().max_restarts());
  // Only pretraining and training run data-parallel over a gang.
  const bool gang = step == "pretrain" || step == "train";
  if (!gang) child.mutable_resources()->set_num_workers(1);

  const v1::ModelRef base = BaseModel(pipeline);
  if (step == "pretrain") {
    *child.mutable_pretrain() = PretrainChild(pipeline, stage.output_path());
  } else if (step == "profile") {
    *child.mutable_profile() = ProfileChild(pipeline, base, UsesLayerSimilarity(plans), stage.output_path());
  } else if (step == "evaluate" && label == "base") {
    *child.mutable_evaluate() = EvaluateChild(pipeline, base);
  } else if (const PlanEntry* plan = FindPlan(plans, label); plan == nullptr) {
    return absl::InvalidArgumentError(StrCat("pipeline ", pipeline.id(), " has no stage ", name));
  } else if (step == "allocate") {
    NMOE_ASSIGN_OR_RETURN(*child.mutable_allocate(),
                          AllocateChild(pipeline, plans, *plan, stage.output_path(), outputs));
  } else {
    // train, evaluate and reprofile of one plan.
    const std::string train_output = StrCat(PipelineOutputPath(pipeline), "/train/", label);
    v1::ModelRef trained;
    trained.set_path(train_output);
    trained.set_tokenizer_path(base.tokenizer_path());
    if (step == "train") {
      NMOE_ASSIGN_OR_RETURN(std::string allocate_job, NeededJob(outputs, StrCat("allocate/", label)));
      NMOE_ASSIGN_OR_RETURN(v1::Plan p, outputs.plan_of_job(allocate_job));
      v1::TrainSpec* t = child.mutable_train();
      *t->mutable_base_model() = base;
      t->set_plan_id(p.id());
      t->set_top_k(spec.top_k());
      *t->mutable_stages() = TrainStages(spec);
      t->set_checkpoint_interval_steps(spec.checkpoint_interval_steps());
      t->set_output_path(stage.output_path());
      t->set_seed(spec.seed());
    } else if (step == "evaluate") {
      *child.mutable_evaluate() = EvaluateChild(pipeline, trained);
    } else if (step == "reprofile") {
      *child.mutable_profile() = ProfileChild(pipeline, trained, /*layer_similarity=*/false, stage.output_path());
    } else {
      return absl::InvalidArgumentError(StrCat("pipeline ", pipeline.id(), " has no stage ", name));
    }
  }
  return child;
}

}  // namespace nmoe::coordinator
