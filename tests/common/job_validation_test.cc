#include "common/job_validation.h"

#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace nmoe {
namespace {

void AddCorpus(google::protobuf::RepeatedPtrField<v1::Corpus>* corpora, const std::string& lang) {
  auto* c = corpora->Add();
  c->set_language(lang);
  c->add_paths(absl::StrCat("data/", lang, ".txt"));
}

v1::TrainStage Stage(uint64_t steps, std::vector<std::string> langs) {
  v1::TrainStage s;
  s.set_name("stage1");
  s.set_steps(steps);
  s.set_learning_rate(1e-4);
  for (const auto& l : langs) AddCorpus(s.mutable_corpora(), l);
  return s;
}

v1::JobSpec Profile() {
  v1::JobSpec spec;
  spec.set_name("profile el");
  spec.mutable_resources()->set_num_workers(2);
  auto* p = spec.mutable_profile();
  p->mutable_model()->set_path("models/qwen");
  AddCorpus(p->mutable_corpora(), "en");
  AddCorpus(p->mutable_corpora(), "el");
  return spec;
}

v1::JobSpec NeuronGuided() {
  v1::JobSpec spec;
  auto* a = spec.mutable_allocate();
  a->set_strategy(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  a->set_profile_job_id("job-0000000000abcdefghjk");
  a->add_old_languages("en");
  a->add_new_languages("el");
  return spec;
}

v1::JobSpec LayerSimilarity() {
  v1::JobSpec spec = NeuronGuided();
  spec.mutable_allocate()->set_strategy(v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY);
  spec.mutable_allocate()->set_budget(70);
  return spec;
}

v1::JobSpec Uniform() {
  v1::JobSpec spec;
  auto* a = spec.mutable_allocate();
  a->set_strategy(v1::ALLOCATION_STRATEGY_UNIFORM);
  a->set_uniform_experts(4);
  a->set_num_layers(24);
  return spec;
}

v1::JobSpec Manual() {
  v1::JobSpec spec;
  auto* a = spec.mutable_allocate();
  a->set_strategy(v1::ALLOCATION_STRATEGY_MANUAL);
  for (uint32_t n : {1u, 2u, 4u, 256u}) a->add_manual_experts(n);
  return spec;
}

v1::JobSpec Train() {
  v1::JobSpec spec;
  auto* t = spec.mutable_train();
  t->mutable_base_model()->set_path("models/qwen");
  t->set_plan_id("plan-0000000000abcdefghjk");
  *t->add_stages() = Stage(1000, {"el"});
  auto* s2 = t->add_stages();
  *s2 = Stage(500, {"en", "el"});
  s2->set_trainable(v1::TRAINABLE_ROUTERS);
  s2->add_old_languages("en");
  s2->set_warmup_steps(500);
  t->set_output_path("out/train");
  return spec;
}

v1::JobSpec Evaluate() {
  v1::JobSpec spec;
  auto* e = spec.mutable_evaluate();
  e->mutable_model()->set_path("out/train/final");
  AddCorpus(e->mutable_heldout(), "el");
  e->set_sequence_length(512);
  return spec;
}

v1::JobSpec Pipeline() {
  v1::JobSpec spec;
  auto* p = spec.mutable_pipeline();
  p->mutable_base_model()->set_path("models/qwen");
  p->add_old_languages("en");
  p->add_new_languages("el");
  p->add_new_languages("pt-BR");
  for (const char* l : {"en", "el", "pt-BR"}) {
    AddCorpus(p->mutable_corpora(), l);
    AddCorpus(p->mutable_heldout(), l);
  }
  return spec;
}

v1::JobSpec PipelineWithPretrain() {
  v1::JobSpec spec = Pipeline();
  auto* p = spec.mutable_pipeline();
  p->clear_base_model();
  auto* pre = p->mutable_pretrain();
  pre->set_preset("tiny");
  *pre->mutable_stage() = Stage(10'000, {});  // pretraining corpora come from the pipeline
  pre->mutable_stage()->set_trainable(v1::TRAINABLE_ALL);
  // Allocations inside a pipeline take the profile from the pipeline.
  p->add_allocations()->set_strategy(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  p->add_allocations()->set_strategy(v1::ALLOCATION_STRATEGY_UNIFORM);
  p->mutable_allocations(1)->set_uniform_experts(2);
  *p->add_stages() = Stage(100, {});
  p->set_output_path("out/pipeline");
  return spec;
}

v1::JobSpec Pretrain() {
  v1::JobSpec spec;
  auto* p = spec.mutable_pretrain();
  p->set_preset("small");
  *p->mutable_stage() = Stage(2000, {"en", "es"});
  AddCorpus(p->mutable_heldout(), "en");
  p->set_output_path("out/base");
  return spec;
}

void ExpectValid(const v1::JobSpec& spec) {
  EXPECT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec) << "\n" << spec.DebugString();
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  request.set_idempotency_key("retry-1");
  EXPECT_TRUE(ValidateSubmitRequest(request).ok()) << ValidateSubmitRequest(request);
}

TEST(ValidateJobSpecTest, ValidSpecOfEveryKindPasses) {
  ExpectValid(Profile());
  ExpectValid(NeuronGuided());
  ExpectValid(LayerSimilarity());
  ExpectValid(Uniform());
  ExpectValid(Manual());
  ExpectValid(Train());
  ExpectValid(Evaluate());
  ExpectValid(Pipeline());
  ExpectValid(PipelineWithPretrain());
  ExpectValid(Pretrain());
}

TEST(ValidateJobSpecTest, BoundaryValuesPass) {
  v1::JobSpec spec = Profile();
  spec.set_name(std::string(256, 'n'));
  spec.mutable_resources()->set_num_workers(1024);
  spec.mutable_resources()->set_threads_per_worker(1024);
  spec.mutable_resources()->set_device(v1::DEVICE_KIND_CUDA);
  spec.mutable_resources()->set_dtype(v1::COMPUTE_DTYPE_BF16);
  spec.set_max_restarts(100);
  (*spec.mutable_labels())["team"] = std::string(256, 'v');
  auto* p = spec.mutable_profile();
  p->set_top_n(10'000'000);
  p->set_lape_top_fraction(1.0);
  p->set_lape_percentile(100.0);
  p->add_criteria(v1::NEURON_CRITERION_AP);
  p->add_criteria(v1::NEURON_CRITERION_LAPE);
  p->add_components(v1::COMPONENT_Q_PROJ);
  p->add_components(v1::COMPONENT_DOWN_PROJ);
  p->mutable_model()->set_path(std::string(4096, 'p'));
  p->set_output_path(std::string(4096, 'o'));
  p->set_memory_budget_mb(16'777'216);
  p->set_batch_tokens(1'048'576);
  ExpectValid(spec);

  spec.set_max_restarts(0);  // present and zero: no restarts
  ExpectValid(spec);

  v1::JobSpec alloc = NeuronGuided();
  alloc.mutable_allocate()->set_max_experts(2);
  alloc.mutable_allocate()->set_top_k(64);
  ExpectValid(alloc);
  alloc.mutable_allocate()->set_max_experts(256);
  ExpectValid(alloc);

  v1::JobSpec uniform = Uniform();
  uniform.mutable_allocate()->clear_num_layers();
  uniform.mutable_allocate()->set_profile_job_id("job-0000000000abcdefghjk");  // layers come from the profile
  ExpectValid(uniform);

  v1::JobSpec train = Train();
  train.mutable_train()->mutable_stages(0)->set_steps(100'000'000);
  train.mutable_train()->mutable_stages(0)->set_learning_rate(0);  // 0 = default
  ExpectValid(train);
}

TEST(ValidateSubmitRequestTest, IdempotencyKeyCharactersAndLength) {
  v1::SubmitJobRequest request;
  *request.mutable_spec() = Profile();
  request.set_idempotency_key("");
  EXPECT_TRUE(ValidateSubmitRequest(request).ok());
  request.set_idempotency_key("ci:build-42_retry.1");
  EXPECT_TRUE(ValidateSubmitRequest(request).ok());
  request.set_idempotency_key(std::string(128, 'k'));
  EXPECT_TRUE(ValidateSubmitRequest(request).ok());
}

// ---- invalid specs ------------------------------------------------------------

struct InvalidCase {
  std::string name;
  std::function<v1::SubmitJobRequest()> make;
  std::string path;  // the field path the message must start with
};

// Names the case in gtest's failure output instead of dumping its bytes.
void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name << " (expects " << c.path << ")"; }

v1::SubmitJobRequest Submit(v1::JobSpec spec) {
  v1::SubmitJobRequest request;
  *request.mutable_spec() = std::move(spec);
  return request;
}

// A case that edits a valid spec.
InvalidCase Edit(std::string name, v1::JobSpec (*valid)(), std::function<void(v1::JobSpec&)> edit,
                 std::string path) {
  return {std::move(name),
          [valid, edit] {
            v1::JobSpec spec = valid();
            edit(spec);
            return Submit(std::move(spec));
          },
          std::move(path)};
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::vector<InvalidCase> InvalidCases() {
  return {
      // Envelope.
      {"NoKind", [] { return Submit(v1::JobSpec()); }, "spec.kind"},
      {"NoSpec", [] { return v1::SubmitJobRequest(); }, "spec"},
      {"IdempotencyKeyWithSpace",
       [] {
         auto r = Submit(Profile());
         r.set_idempotency_key("retry 1");
         return r;
       },
       "idempotency_key"},
      {"IdempotencyKeyWithSlash",
       [] {
         auto r = Submit(Profile());
         r.set_idempotency_key("a/b");
         return r;
       },
       "idempotency_key"},
      {"IdempotencyKeyTooLong",
       [] {
         auto r = Submit(Profile());
         r.set_idempotency_key(std::string(129, 'k'));
         return r;
       },
       "idempotency_key"},
      Edit("NameTooLong", Profile, [](auto& s) { s.set_name(std::string(257, 'n')); }, "spec.name"),
      Edit("TooManyLabels", Profile,
           [](auto& s) {
             for (int i = 0; i < 65; ++i) (*s.mutable_labels())[absl::StrCat("k", i)] = "v";
           },
           "spec.labels"),
      Edit("EmptyLabelKey", Profile, [](auto& s) { (*s.mutable_labels())[""] = "v"; }, "spec.labels[]"),
      Edit("LabelValueTooLong", Profile, [](auto& s) { (*s.mutable_labels())["team"] = std::string(257, 'v'); },
           "spec.labels[team]"),
      Edit("TooManyWorkers", Profile, [](auto& s) { s.mutable_resources()->set_num_workers(1025); },
           "spec.resources.num_workers"),
      Edit("UnknownDevice", Profile,
           [](auto& s) { s.mutable_resources()->set_device(static_cast<v1::DeviceKind>(9)); },
           "spec.resources.device"),
      Edit("UnknownDtype", Profile,
           [](auto& s) { s.mutable_resources()->set_dtype(static_cast<v1::ComputeDtype>(-1)); },
           "spec.resources.dtype"),
      Edit("TooManyThreads", Profile, [](auto& s) { s.mutable_resources()->set_threads_per_worker(1025); },
           "spec.resources.threads_per_worker"),
      Edit("TooManyRestarts", Profile, [](auto& s) { s.set_max_restarts(101); }, "spec.max_restarts"),
      // Profile.
      Edit("ProfileOutputPathWithNul", Profile,
           [](auto& s) { s.mutable_profile()->set_output_path(std::string("out\0put", 7)); },
           "spec.profile.output_path"),
      Edit("ProfileMemoryBudgetTooLarge", Profile, [](auto& s) { s.mutable_profile()->set_memory_budget_mb(16'777'217); },
           "spec.profile.memory_budget_mb"),
      Edit("ProfileBatchTokensTooLarge", Profile, [](auto& s) { s.mutable_profile()->set_batch_tokens(1'048'577); },
           "spec.profile.batch_tokens"),
      Edit("ProfileTopNTooLarge", Profile, [](auto& s) { s.mutable_profile()->set_top_n(10'000'001); },
           "spec.profile.top_n"),
      Edit("ProfileWithoutModel", Profile, [](auto& s) { s.mutable_profile()->clear_model(); },
           "spec.profile.model.path"),
      Edit("ProfileTokenizerPathWithNul", Profile,
           [](auto& s) { s.mutable_profile()->mutable_model()->set_tokenizer_path(std::string("tok\0.json", 9)); },
           "spec.profile.model.tokenizer_path"),
      Edit("ProfileOneCorpus", Profile, [](auto& s) { s.mutable_profile()->mutable_corpora()->RemoveLast(); },
           "spec.profile.corpora"),
      Edit("ProfileCorpusLanguageUpperCase", Profile,
           [](auto& s) { s.mutable_profile()->mutable_corpora(1)->set_language("EL"); },
           "spec.profile.corpora[1].language"),
      Edit("ProfileCorpusLanguageTwice", Profile,
           [](auto& s) { s.mutable_profile()->mutable_corpora(1)->set_language("en"); },
           "spec.profile.corpora[1].language"),
      Edit("ProfileCorpusWithoutPaths", Profile,
           [](auto& s) { s.mutable_profile()->mutable_corpora(0)->clear_paths(); }, "spec.profile.corpora[0].paths"),
      Edit("ProfileCorpusEmptyPath", Profile,
           [](auto& s) { s.mutable_profile()->mutable_corpora(0)->add_paths(""); },
           "spec.profile.corpora[0].paths[1]"),
      Edit("ProfileCorpusPathTooLong", Profile,
           [](auto& s) { s.mutable_profile()->mutable_corpora(1)->set_paths(0, std::string(4097, 'p')); },
           "spec.profile.corpora[1].paths[0]"),
      Edit("ProfileCriterionUnknown", Profile,
           [](auto& s) { s.mutable_profile()->add_criteria(static_cast<v1::NeuronCriterion>(7)); },
           "spec.profile.criteria[0]"),
      Edit("ProfileCriterionTwice", Profile,
           [](auto& s) {
             s.mutable_profile()->add_criteria(v1::NEURON_CRITERION_LAPE);
             s.mutable_profile()->add_criteria(v1::NEURON_CRITERION_LAPE);
           },
           "spec.profile.criteria[1]"),
      Edit("ProfileSentencesTooMany", Profile,
           [](auto& s) { s.mutable_profile()->set_sentences_per_language(1'000'001); },
           "spec.profile.sentences_per_language"),
      Edit("ProfileLapeFractionAboveOne", Profile, [](auto& s) { s.mutable_profile()->set_lape_top_fraction(1.5); },
           "spec.profile.lape_top_fraction"),
      Edit("ProfileLapeFractionNaN", Profile, [](auto& s) { s.mutable_profile()->set_lape_top_fraction(kNaN); },
           "spec.profile.lape_top_fraction"),
      Edit("ProfileLapePercentileInfinite", Profile,
           [](auto& s) { s.mutable_profile()->set_lape_percentile(kInf); }, "spec.profile.lape_percentile"),
      Edit("ProfileComponentUnspecified", Profile,
           [](auto& s) { s.mutable_profile()->add_components(v1::COMPONENT_UNSPECIFIED); },
           "spec.profile.components[0]"),
      Edit("ProfileComponentTwice", Profile,
           [](auto& s) {
             s.mutable_profile()->add_components(v1::COMPONENT_UP_PROJ);
             s.mutable_profile()->add_components(v1::COMPONENT_GATE_PROJ);
             s.mutable_profile()->add_components(v1::COMPONENT_UP_PROJ);
           },
           "spec.profile.components[2]"),
      // Allocate.
      Edit("AllocateNoStrategy", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->set_strategy(v1::ALLOCATION_STRATEGY_UNSPECIFIED); },
           "spec.allocate.strategy"),
      Edit("AllocateUnknownStrategy", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->set_strategy(static_cast<v1::AllocationStrategy>(5)); },
           "spec.allocate.strategy"),
      Edit("NeuronGuidedWithoutProfile", NeuronGuided, [](auto& s) { s.mutable_allocate()->clear_profile_job_id(); },
           "spec.allocate.profile_job_id"),
      Edit("LayerSimilarityWithoutProfile", LayerSimilarity,
           [](auto& s) { s.mutable_allocate()->clear_profile_job_id(); }, "spec.allocate.profile_job_id"),
      Edit("NeuronGuidedWithoutOldLanguages", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->clear_old_languages(); }, "spec.allocate.old_languages"),
      Edit("NeuronGuidedWithoutNewLanguages", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->clear_new_languages(); }, "spec.allocate.new_languages"),
      Edit("AllocateOldLanguageTwice", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->add_old_languages("en"); }, "spec.allocate.old_languages[1]"),
      Edit("AllocateBadNewLanguage", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->add_new_languages("greek"); }, "spec.allocate.new_languages[1]"),
      Edit("AllocateNewLanguageAlsoOld", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->add_new_languages("en"); }, "spec.allocate.new_languages"),
      Edit("AllocateUnknownCriterion", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->set_criterion(static_cast<v1::NeuronCriterion>(3)); },
           "spec.allocate.criterion"),
      Edit("AllocateMaxExpertsOne", NeuronGuided, [](auto& s) { s.mutable_allocate()->set_max_experts(1); },
           "spec.allocate.max_experts"),
      Edit("AllocateMaxExpertsTooMany", NeuronGuided, [](auto& s) { s.mutable_allocate()->set_max_experts(257); },
           "spec.allocate.max_experts"),
      Edit("AllocateBudgetTooLarge", LayerSimilarity, [](auto& s) { s.mutable_allocate()->set_budget(100'001); },
           "spec.allocate.budget"),
      Edit("AllocateTopKTooLarge", NeuronGuided, [](auto& s) { s.mutable_allocate()->set_top_k(65); },
           "spec.allocate.top_k"),
      Edit("AllocateTooManyLayers", Uniform, [](auto& s) { s.mutable_allocate()->set_num_layers(4097); },
           "spec.allocate.num_layers"),
      Edit("AllocateHugeHiddenSize", Uniform, [](auto& s) { s.mutable_allocate()->set_hidden_size((1 << 20) + 1); },
           "spec.allocate.hidden_size"),
      Edit("AllocateHugeIntermediateSize", Uniform,
           [](auto& s) { s.mutable_allocate()->set_intermediate_size((1 << 22) + 1); },
           "spec.allocate.intermediate_size"),
      Edit("AllocateOutputPathWithNul", Uniform,
           [](auto& s) { s.mutable_allocate()->set_output_path(std::string("a\0b", 3)); },
           "spec.allocate.output_path"),
      Edit("UniformWithoutLayersOrProfile", Uniform, [](auto& s) { s.mutable_allocate()->clear_num_layers(); },
           "spec.allocate.num_layers"),
      Edit("UniformWithZeroExperts", Uniform, [](auto& s) { s.mutable_allocate()->set_uniform_experts(0); },
           "spec.allocate.uniform_experts"),
      Edit("UniformExpertsForNeuronGuided", NeuronGuided,
           [](auto& s) { s.mutable_allocate()->set_uniform_experts(4); }, "spec.allocate.uniform_experts"),
      Edit("ManualWithoutExperts", Manual, [](auto& s) { s.mutable_allocate()->clear_manual_experts(); },
           "spec.allocate.manual_experts"),
      Edit("ManualZeroExperts", Manual, [](auto& s) { s.mutable_allocate()->set_manual_experts(1, 0); },
           "spec.allocate.manual_experts[1]"),
      Edit("ManualTooManyExperts", Manual, [](auto& s) { s.mutable_allocate()->set_manual_experts(3, 257); },
           "spec.allocate.manual_experts[3]"),
      Edit("ManualExpertsForUniform", Uniform, [](auto& s) { s.mutable_allocate()->add_manual_experts(2); },
           "spec.allocate.manual_experts"),
      // Train.
      Edit("TrainWithoutBaseModel", Train, [](auto& s) { s.mutable_train()->clear_base_model(); },
           "spec.train.base_model.path"),
      Edit("TrainBaseModelPathTooLong", Train,
           [](auto& s) { s.mutable_train()->mutable_base_model()->set_path(std::string(4097, 'm')); },
           "spec.train.base_model.path"),
      Edit("TrainTopKTooLarge", Train, [](auto& s) { s.mutable_train()->set_top_k(65); }, "spec.train.top_k"),
      Edit("TrainClassifierWithoutPlan", Train,
           [](auto& s) {
             s.mutable_train()->clear_plan_id();
             s.mutable_train()->add_classifier_layers(1);
           },
           "spec.train.classifier_layers"),
      Edit("TrainClassifierLayersRepeated", Train,
           [](auto& s) {
             s.mutable_train()->add_classifier_layers(3);
             s.mutable_train()->add_classifier_layers(3);
           },
           "spec.train.classifier_layers[1]"),
      Edit("TrainNegativeClassifierCoef", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(1)->set_classifier_loss_coef(-1); },
           "spec.train.stages[1].classifier_loss_coef"),
      Edit("TrainWithoutStages", Train, [](auto& s) { s.mutable_train()->clear_stages(); }, "spec.train.stages"),
      Edit("TrainZeroSteps", Train, [](auto& s) { s.mutable_train()->mutable_stages(0)->set_steps(0); },
           "spec.train.stages[0].steps"),
      Edit("TrainTooManySteps", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(1)->set_steps(100'000'001); },
           "spec.train.stages[1].steps"),
      Edit("TrainNaNLearningRate", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_learning_rate(kNaN); },
           "spec.train.stages[0].learning_rate"),
      Edit("TrainNegativeLearningRate", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(1)->set_learning_rate(-1e-4); },
           "spec.train.stages[1].learning_rate"),
      Edit("TrainWarmupBeyondSteps", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(1)->set_warmup_steps(501); },
           "spec.train.stages[1].warmup_steps"),
      Edit("TrainStageWithoutCorpora", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->clear_corpora(); }, "spec.train.stages[0].corpora"),
      Edit("TrainStageNameTooLong", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_name(std::string(257, 's')); },
           "spec.train.stages[0].name"),
      Edit("TrainStageUnknownTrainable", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_trainable(static_cast<v1::Trainable>(4)); },
           "spec.train.stages[0].trainable"),
      Edit("TrainStageSequenceTooLong", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_sequence_length(131'073); },
           "spec.train.stages[0].sequence_length"),
      Edit("TrainStageMinLrRatioAboveOne", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_min_lr_ratio(1.01); },
           "spec.train.stages[0].min_lr_ratio"),
      Edit("TrainStageGradClipInfinite", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_grad_clip(kInf); },
           "spec.train.stages[0].grad_clip"),
      Edit("TrainStageZLossNegative", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(0)->set_z_loss_coef(-0.1); },
           "spec.train.stages[0].z_loss_coef"),
      Edit("TrainStageBadOldLanguage", Train,
           [](auto& s) { s.mutable_train()->mutable_stages(1)->set_old_languages(0, "en_US"); },
           "spec.train.stages[1].old_languages[0]"),
      Edit("TrainWithoutOutputPath", Train, [](auto& s) { s.mutable_train()->clear_output_path(); },
           "spec.train.output_path"),
      // Evaluate.
      Edit("EvaluateWithoutModel", Evaluate, [](auto& s) { s.mutable_evaluate()->clear_model(); },
           "spec.evaluate.model.path"),
      Edit("EvaluateWithoutHeldout", Evaluate, [](auto& s) { s.mutable_evaluate()->clear_heldout(); },
           "spec.evaluate.heldout"),
      Edit("EvaluateSequenceTooLong", Evaluate,
           [](auto& s) { s.mutable_evaluate()->set_sequence_length(131'073); }, "spec.evaluate.sequence_length"),
      // Pipeline.
      Edit("PipelineNewLanguageAlsoOld", Pipeline,
           [](auto& s) { s.mutable_pipeline()->add_new_languages("en"); }, "spec.pipeline.new_languages"),
      Edit("PipelineWithoutOldLanguages", Pipeline, [](auto& s) { s.mutable_pipeline()->clear_old_languages(); },
           "spec.pipeline.old_languages"),
      Edit("PipelineWithoutNewLanguages", Pipeline, [](auto& s) { s.mutable_pipeline()->clear_new_languages(); },
           "spec.pipeline.new_languages"),
      Edit("PipelineNoCorpusForALanguage", Pipeline,
           [](auto& s) { s.mutable_pipeline()->mutable_corpora()->RemoveLast(); }, "spec.pipeline.corpora"),
      Edit("PipelineWithoutCorpora", Pipeline, [](auto& s) { s.mutable_pipeline()->clear_corpora(); },
           "spec.pipeline.corpora"),
      Edit("PipelineNoHeldoutForALanguage", Pipeline,
           [](auto& s) { s.mutable_pipeline()->mutable_heldout()->DeleteSubrange(0, 1); }, "spec.pipeline.heldout"),
      Edit("PipelineCorpusBadLanguage", Pipeline,
           [](auto& s) { s.mutable_pipeline()->mutable_corpora(2)->set_language("pt-"); },
           "spec.pipeline.corpora[2].language"),
      Edit("PipelineWithoutModelOrPretrain", Pipeline, [](auto& s) { s.mutable_pipeline()->clear_base_model(); },
           "spec.pipeline.pretrain"),
      Edit("PipelineModelAndPretrain", Pipeline,
           [](auto& s) { *s.mutable_pipeline()->mutable_pretrain()->mutable_stage() = Stage(10, {}); },
           "spec.pipeline.pretrain"),
      Edit("PipelinePretrainZeroSteps", PipelineWithPretrain,
           [](auto& s) { s.mutable_pipeline()->mutable_pretrain()->mutable_stage()->set_steps(0); },
           "spec.pipeline.pretrain.stage.steps"),
      Edit("PipelinePretrainWithoutPreset", PipelineWithPretrain,
           [](auto& s) { s.mutable_pipeline()->mutable_pretrain()->clear_preset(); }, "spec.pipeline.pretrain.preset"),
      // Pretrain.
      Edit("PretrainPresetAndConfig", Pretrain,
           [](auto& s) { s.mutable_pretrain()->set_config_path("cfg.json"); }, "spec.pretrain.config_path"),
      Edit("PretrainBadPresetName", Pretrain, [](auto& s) { s.mutable_pretrain()->set_preset("Big Model"); },
           "spec.pretrain.preset"),
      Edit("PretrainWithoutStage", Pretrain, [](auto& s) { s.mutable_pretrain()->clear_stage(); },
           "spec.pretrain.stage"),
      Edit("PretrainWithoutCorpora", Pretrain,
           [](auto& s) { s.mutable_pretrain()->mutable_stage()->clear_corpora(); }, "spec.pretrain.stage.corpora"),
      Edit("PretrainRoutersOnly", Pretrain,
           [](auto& s) { s.mutable_pretrain()->mutable_stage()->set_trainable(v1::TRAINABLE_ROUTERS); },
           "spec.pretrain.stage.trainable"),
      Edit("PretrainVocabWithTokenizer", Pretrain,
           [](auto& s) {
             s.mutable_pretrain()->set_tokenizer_path("tok.json");
             s.mutable_pretrain()->set_tokenizer_vocab_size(8192);
           },
           "spec.pretrain.tokenizer_vocab_size"),
      Edit("PretrainVocabTooSmall", Pretrain, [](auto& s) { s.mutable_pretrain()->set_tokenizer_vocab_size(10); },
           "spec.pretrain.tokenizer_vocab_size"),
      Edit("PretrainWithoutOutput", Pretrain, [](auto& s) { s.mutable_pretrain()->clear_output_path(); },
           "spec.pretrain.output_path"),
      Edit("PipelineProfileBadTopN", Pipeline,
           [](auto& s) { s.mutable_pipeline()->mutable_profile()->set_top_n(20'000'000); },
           "spec.pipeline.profile.top_n"),
      Edit("PipelineAllocationWithoutStrategy", PipelineWithPretrain,
           [](auto& s) { s.mutable_pipeline()->mutable_allocations(1)->clear_strategy(); },
           "spec.pipeline.allocations[1].strategy"),
      Edit("PipelineAllocationMaxExpertsOne", PipelineWithPretrain,
           [](auto& s) { s.mutable_pipeline()->mutable_allocations(0)->set_max_experts(1); },
           "spec.pipeline.allocations[0].max_experts"),
      Edit("PipelineStageNaNLearningRate", PipelineWithPretrain,
           [](auto& s) { s.mutable_pipeline()->mutable_stages(0)->set_learning_rate(kNaN); },
           "spec.pipeline.stages[0].learning_rate"),
      Edit("PipelineOutputPathWithNul", Pipeline,
           [](auto& s) { s.mutable_pipeline()->set_output_path(std::string("out\0", 4)); },
           "spec.pipeline.output_path"),
  };
}

class InvalidSpecTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSpecTest, IsInvalidArgumentNamingTheField) {
  const InvalidCase& c = GetParam();
  const v1::SubmitJobRequest request = c.make();
  const absl::Status status = ValidateSubmitRequest(request);
  ASSERT_FALSE(status.ok()) << request.DebugString();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  // The exact path, then ": " and the problem.
  EXPECT_TRUE(absl::StartsWith(status.message(), c.path + ": "))
      << "message '" << status.message() << "' does not start with '" << c.path << ": '";
  EXPECT_GT(status.message().size(), c.path.size() + 2) << status;
  // ValidateJobSpec agrees when the problem is inside the spec.
  if (absl::StartsWith(c.path, "spec.")) {
    EXPECT_EQ(ValidateJobSpec(request.spec()), status);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidSpecTest, ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

TEST(ValidateJobSpecTest, MessagesCarryTheOffendingValue) {
  v1::JobSpec spec = Profile();
  spec.mutable_profile()->set_top_n(10'000'001);
  EXPECT_EQ(ValidateJobSpec(spec).message(), "spec.profile.top_n: must be in [0, 10000000], got 10000001");
  spec = Profile();
  spec.mutable_profile()->mutable_corpora(1)->set_language("Greek");
  EXPECT_EQ(ValidateJobSpec(spec).message(),
            "spec.profile.corpora[1].language: 'Greek' is not a language code like en or pt-BR");
  spec = Pipeline();
  spec.mutable_pipeline()->add_new_languages("en");
  EXPECT_EQ(ValidateJobSpec(spec).message(), "spec.pipeline.new_languages: 'en' is also an old language");
}

TEST(ValidateJobSpecTest, NamesAndLabelsMustBePrintable) {
  v1::JobSpec spec = Profile();
  spec.set_name("profile\r\x1b[2Jdone");
  EXPECT_EQ(ValidateJobSpec(spec).message(),
            "spec.name: holds control character 0x0d at byte 7; names and labels must be printable");
  spec = Profile();
  (*spec.mutable_labels())["team"] = "a\tb";
  EXPECT_EQ(ValidateJobSpec(spec).message(),
            "spec.labels[team]: holds control character 0x09 at byte 1; names and labels must be printable");
  spec = Profile();
  (*spec.mutable_labels())[std::string("te") + "\x7f" + "am"] = "x";
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateJobSpec(spec)));
  spec = Profile();
  spec.set_name("profile el/tr (ünïcode is fine)");
  (*spec.mutable_labels())["team"] = "ñ";
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
}

// ---- IsLanguageCode -------------------------------------------------------------

TEST(IsLanguageCodeTest, AcceptsTwoOrThreeLowerCaseLettersWithOptionalSubtag) {
  for (const std::string code : {"en", "zh", "el", "fil", "yue", "pt-BR", "zh-Hans", "en-US", "es-419", "sr-Latn",
                                 "en-ab", "en-abcdefgh", "de-1996"}) {
    EXPECT_TRUE(IsLanguageCode(code)) << "'" << code << "'";
  }
}

TEST(IsLanguageCodeTest, RejectsEverythingElse) {
  for (const std::string code : {"", "e", "engl", "EN", "En", "eN", "e1", "12", "en-", "en-x", "en-abcdefghi",
                                 "en_US", "en US", " en", "en ", "-en", "en--US", "zh-Hans-CN", "pt-B!",
                                 "\xc3\xa9n", "en\n"}) {
    EXPECT_FALSE(IsLanguageCode(code)) << "'" << code << "'";
  }
  EXPECT_FALSE(IsLanguageCode(std::string("en\0", 3)));
  EXPECT_FALSE(IsLanguageCode(std::string("en-U\0", 5)));
}

}  // namespace
}  // namespace nmoe
