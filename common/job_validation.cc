#include "common/job_validation.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace nmoe {
namespace {

using absl::StrCat;

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxLabelBytes = 256;
constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kMaxIdempotencyKeyBytes = 128;
constexpr uint32_t kMaxWorkers = 1024;
constexpr uint32_t kMaxRestarts = 100;

absl::Status Bad(const std::string& field, const std::string& problem) {
  return absl::InvalidArgumentError(StrCat(field, ": ", problem));
}

absl::Status CheckPath(const std::string& field, const std::string& path, bool required) {
  if (path.empty()) return required ? Bad(field, "is required") : absl::OkStatus();
  if (path.size() > kMaxPathBytes) return Bad(field, StrCat("longer than ", kMaxPathBytes, " bytes"));
  if (path.find('\0') != std::string::npos) return Bad(field, "contains a NUL byte");
  return absl::OkStatus();
}

absl::Status CheckRange(const std::string& field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value < lo || value > hi) return Bad(field, StrCat("must be in [", lo, ", ", hi, "], got ", value));
  return absl::OkStatus();
}

absl::Status CheckReal(const std::string& field, double value, double lo, double hi) {
  if (!std::isfinite(value) || value < lo || value > hi) {
    return Bad(field, StrCat("must be a finite number in [", lo, ", ", hi, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckEnum(const std::string& field, bool valid, int value) {
  return valid ? absl::OkStatus() : Bad(field, StrCat("unknown value ", value));
}

absl::Status CheckModel(const std::string& field, const v1::ModelRef& model, bool required) {
  NMOE_RETURN_IF_ERROR(CheckPath(field + ".path", model.path(), required));
  return CheckPath(field + ".tokenizer_path", model.tokenizer_path(), false);
}

absl::Status CheckLanguages(const std::string& field, const google::protobuf::RepeatedPtrField<std::string>& langs,
                            bool required, std::set<std::string>* out) {
  if (required && langs.empty()) return Bad(field, "needs at least one language");
  std::set<std::string> seen;
  for (int i = 0; i < langs.size(); ++i) {
    const std::string item = StrCat(field, "[", i, "]");
    if (!IsLanguageCode(langs[i])) return Bad(item, StrCat("'", langs[i], "' is not a language code like en or pt-BR"));
    if (!seen.insert(langs[i]).second) return Bad(item, StrCat("language '", langs[i], "' is listed twice"));
  }
  if (out) *out = std::move(seen);
  return absl::OkStatus();
}

absl::Status CheckCorpora(const std::string& field, const google::protobuf::RepeatedPtrField<v1::Corpus>& corpora,
                          size_t min_count, std::set<std::string>* languages) {
  if (corpora.size() < static_cast<int>(min_count)) {
    return Bad(field, StrCat("needs at least ", min_count, " corpus entr", min_count == 1 ? "y" : "ies"));
  }
  std::set<std::string> seen;
  for (int i = 0; i < corpora.size(); ++i) {
    const std::string item = StrCat(field, "[", i, "]");
    const auto& c = corpora[i];
    if (!IsLanguageCode(c.language())) {
      return Bad(item + ".language", StrCat("'", c.language(), "' is not a language code like en or pt-BR"));
    }
    if (!seen.insert(c.language()).second) return Bad(item + ".language", StrCat("'", c.language(), "' appears twice"));
    if (c.paths().empty()) return Bad(item + ".paths", "needs at least one file");
    for (int j = 0; j < c.paths().size(); ++j) {
      NMOE_RETURN_IF_ERROR(CheckPath(StrCat(item, ".paths[", j, "]"), c.paths(j), true));
    }
  }
  if (languages) *languages = std::move(seen);
  return absl::OkStatus();
}

absl::Status CheckProfile(const std::string& f, const v1::ProfileSpec& p, bool inside_pipeline) {
  NMOE_RETURN_IF_ERROR(CheckModel(f + ".model", p.model(), !inside_pipeline));
  NMOE_RETURN_IF_ERROR(CheckCorpora(f + ".corpora", p.corpora(), inside_pipeline ? 0 : 2, nullptr));
  std::set<int> criteria;
  for (int i = 0; i < p.criteria().size(); ++i) {
    const std::string item = StrCat(f, ".criteria[", i, "]");
    NMOE_RETURN_IF_ERROR(CheckEnum(item, v1::NeuronCriterion_IsValid(p.criteria(i)), p.criteria(i)));
    if (!criteria.insert(p.criteria(i)).second) return Bad(item, "criterion listed twice");
  }
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".sentences_per_language", p.sentences_per_language(), 0, 1'000'000));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".max_sentence_tokens", p.max_sentence_tokens(), 0, 65'536));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".top_n", p.top_n(), 0, 10'000'000));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".lape_top_fraction", p.lape_top_fraction(), 0, 1));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".lape_percentile", p.lape_percentile(), 0, 100));
  std::set<int> components;
  for (int i = 0; i < p.components().size(); ++i) {
    const std::string item = StrCat(f, ".components[", i, "]");
    const int c = p.components(i);
    if (!v1::Component_IsValid(c) || c == v1::COMPONENT_UNSPECIFIED) return Bad(item, StrCat("unknown component ", c));
    if (!components.insert(c).second) return Bad(item, "component listed twice");
  }
  NMOE_RETURN_IF_ERROR(CheckPath(f + ".output_path", p.output_path(), false));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".memory_budget_mb", p.memory_budget_mb(), 0, 16'777'216));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".batch_tokens", p.batch_tokens(), 0, 1'048'576));
  return CheckRange(f + ".similarity_tokens_per_language", p.similarity_tokens_per_language(), 0, 100'000'000);
}

absl::Status CheckAllocate(const std::string& f, const v1::AllocateSpec& a, bool inside_pipeline) {
  using S = v1::AllocationStrategy;
  NMOE_RETURN_IF_ERROR(CheckEnum(f + ".strategy", v1::AllocationStrategy_IsValid(a.strategy()), a.strategy()));
  if (a.strategy() == S::ALLOCATION_STRATEGY_UNSPECIFIED) {
    return Bad(f + ".strategy", "is required (neuron-guided, layer-similarity, uniform or manual)");
  }
  const bool needs_profile =
      a.strategy() == S::ALLOCATION_STRATEGY_NEURON_GUIDED || a.strategy() == S::ALLOCATION_STRATEGY_LAYER_SIMILARITY;
  if (needs_profile && !inside_pipeline && a.profile_job_id().empty()) {
    return Bad(f + ".profile_job_id", "is required for this strategy");
  }
  std::set<std::string> old_langs, new_langs;
  NMOE_RETURN_IF_ERROR(CheckLanguages(f + ".old_languages", a.old_languages(), needs_profile && !inside_pipeline, &old_langs));
  NMOE_RETURN_IF_ERROR(CheckLanguages(f + ".new_languages", a.new_languages(), needs_profile && !inside_pipeline, &new_langs));
  for (const auto& l : new_langs) {
    if (old_langs.count(l)) return Bad(f + ".new_languages", StrCat("'", l, "' is also an old language"));
  }
  NMOE_RETURN_IF_ERROR(CheckEnum(f + ".criterion", v1::NeuronCriterion_IsValid(a.criterion()), a.criterion()));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".max_experts", a.max_experts(), 0, 256));
  if (a.max_experts() == 1) return Bad(f + ".max_experts", "must be at least 2 (1 would leave every layer dense)");
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".budget", a.budget(), 0, 100'000));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".top_k", a.top_k(), 0, 64));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".total_budget", a.total_budget(), 0, 100'000));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".num_layers", a.num_layers(), 0, 4096));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".hidden_size", a.hidden_size(), 0, 1 << 20));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".intermediate_size", a.intermediate_size(), 0, 1 << 22));
  NMOE_RETURN_IF_ERROR(CheckPath(f + ".output_path", a.output_path(), false));
  if (a.strategy() == S::ALLOCATION_STRATEGY_UNIFORM) {
    // In a pipeline, 0 = the neuron-guided plan's mean experts per layer.
    if (!inside_pipeline || a.uniform_experts() != 0) {
      NMOE_RETURN_IF_ERROR(CheckRange(f + ".uniform_experts", a.uniform_experts(), 1, 256));
    }
    if (a.profile_job_id().empty() && a.num_layers() == 0 && !inside_pipeline) {
      return Bad(f + ".num_layers", "is required for a uniform plan without a profile_job_id");
    }
  } else if (a.uniform_experts() != 0) {
    return Bad(f + ".uniform_experts", "applies only to the uniform strategy");
  }
  if (a.strategy() == S::ALLOCATION_STRATEGY_MANUAL) {
    if (a.manual_experts().empty()) return Bad(f + ".manual_experts", "is required for the manual strategy");
    for (int i = 0; i < a.manual_experts().size(); ++i) {
      NMOE_RETURN_IF_ERROR(CheckRange(StrCat(f, ".manual_experts[", i, "]"), a.manual_experts(i), 1, 256));
    }
  } else if (!a.manual_experts().empty()) {
    return Bad(f + ".manual_experts", "applies only to the manual strategy");
  }
  return absl::OkStatus();
}

absl::Status CheckStage(const std::string& f, const v1::TrainStage& s, bool corpora_required) {
  if (s.name().size() > kMaxNameBytes) return Bad(f + ".name", StrCat("longer than ", kMaxNameBytes, " bytes"));
  NMOE_RETURN_IF_ERROR(CheckCorpora(f + ".corpora", s.corpora(), corpora_required ? 1 : 0, nullptr));
  NMOE_RETURN_IF_ERROR(CheckEnum(f + ".trainable", v1::Trainable_IsValid(s.trainable()), s.trainable()));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".sequence_length", s.sequence_length(), 0, 131'072));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".steps", s.steps(), 1, 100'000'000));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".batch_sequences", s.batch_sequences(), 0, 1'000'000));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".grad_accumulation", s.grad_accumulation(), 0, 65'536));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".learning_rate", s.learning_rate(), 0, 10));
  if (s.warmup_steps() > s.steps()) return Bad(f + ".warmup_steps", "exceeds steps");
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".min_lr_ratio", s.min_lr_ratio(), 0, 1));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".weight_decay", s.weight_decay(), 0, 10));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".grad_clip", s.grad_clip(), 0, 1e6));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".balance_loss_coef", s.balance_loss_coef(), 0, 100));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".lpr_loss_coef", s.lpr_loss_coef(), 0, 100));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".z_loss_coef", s.z_loss_coef(), 0, 100));
  NMOE_RETURN_IF_ERROR(CheckReal(f + ".classifier_loss_coef", s.classifier_loss_coef(), 0, 100));
  return CheckLanguages(f + ".old_languages", s.old_languages(), false, nullptr);
}

absl::Status CheckStages(const std::string& f, const google::protobuf::RepeatedPtrField<v1::TrainStage>& stages,
                         bool required, bool corpora_required) {
  if (required && stages.empty()) return Bad(f, "needs at least one stage");
  for (int i = 0; i < stages.size(); ++i) {
    NMOE_RETURN_IF_ERROR(CheckStage(StrCat(f, "[", i, "]"), stages[i], corpora_required));
  }
  return absl::OkStatus();
}

absl::Status CheckTrain(const std::string& f, const v1::TrainSpec& t) {
  NMOE_RETURN_IF_ERROR(CheckModel(f + ".base_model", t.base_model(), true));
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".top_k", t.top_k(), 0, 64));
  NMOE_RETURN_IF_ERROR(CheckStages(f + ".stages", t.stages(), true, true));
  NMOE_RETURN_IF_ERROR(CheckPath(f + ".output_path", t.output_path(), true));
  if (t.classifier_layers_size() > 0 && t.plan_id().empty()) {
    return Bad(f + ".classifier_layers", "sequence classifiers need MoE layers: give a plan_id");
  }
  for (int i = 0; i < t.classifier_layers_size(); ++i) {
    // Whether the layer has n_l >= 2 is known only with the plan (checked when the model is built).
    NMOE_RETURN_IF_ERROR(CheckRange(StrCat(f, ".classifier_layers[", i, "]"), t.classifier_layers(i), 0, 4095));
    if (i > 0 && t.classifier_layers(i) <= t.classifier_layers(i - 1)) {
      return Bad(StrCat(f, ".classifier_layers[", i, "]"), "layers must be ascending without repeats");
    }
  }
  return absl::OkStatus();
}

// The evaluation settings a pipeline passes on (model and held-out text come from it).
absl::Status CheckEvaluateOptions(const std::string& f, const v1::EvaluateSpec& e) {
  NMOE_RETURN_IF_ERROR(CheckLanguages(f + ".old_languages", e.old_languages(), false, nullptr));
  return CheckRange(f + ".sequence_length", e.sequence_length(), 0, 131'072);
}

absl::Status CheckEvaluate(const std::string& f, const v1::EvaluateSpec& e) {
  NMOE_RETURN_IF_ERROR(CheckModel(f + ".model", e.model(), true));
  NMOE_RETURN_IF_ERROR(CheckCorpora(f + ".heldout", e.heldout(), 1, nullptr));
  return CheckEvaluateOptions(f, e);
}

bool IsPresetName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) && !absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

// `inside_pipeline`: corpora and held-out text may come from the pipeline.
absl::Status CheckPretrain(const std::string& f, const v1::PretrainSpec& p, bool inside_pipeline) {
  if (!p.preset().empty() && !p.config_path().empty()) {
    return Bad(f + ".config_path", "give either a preset or a config_path, not both");
  }
  if (p.preset().empty() && p.config_path().empty()) return Bad(f + ".preset", "a preset or a config_path is required");
  if (!p.preset().empty() && !IsPresetName(p.preset())) {
    return Bad(f + ".preset", StrCat("'", p.preset(), "' is not a preset name (lowercase letters, digits, - and _)"));
  }
  NMOE_RETURN_IF_ERROR(CheckPath(f + ".config_path", p.config_path(), false));
  NMOE_RETURN_IF_ERROR(CheckPath(f + ".tokenizer_path", p.tokenizer_path(), false));
  if (!p.tokenizer_path().empty() && p.tokenizer_vocab_size() != 0) {
    return Bad(f + ".tokenizer_vocab_size", "applies only when a tokenizer is trained (tokenizer_path empty)");
  }
  if (p.tokenizer_vocab_size() != 0) {
    NMOE_RETURN_IF_ERROR(CheckRange(f + ".tokenizer_vocab_size", p.tokenizer_vocab_size(), 512, 1'000'000));
  }
  if (!p.has_stage()) return Bad(f + ".stage", "is required (at least its steps)");
  NMOE_RETURN_IF_ERROR(CheckStage(f + ".stage", p.stage(), !inside_pipeline));
  const auto trainable = p.stage().trainable();
  if (trainable != v1::TRAINABLE_UNSPECIFIED && trainable != v1::TRAINABLE_ALL) {
    return Bad(f + ".stage.trainable", "pretraining trains all weights (leave it unset or ALL)");
  }
  NMOE_RETURN_IF_ERROR(CheckCorpora(f + ".heldout", p.heldout(), 0, nullptr));
  return CheckPath(f + ".output_path", p.output_path(), !inside_pipeline);
}

absl::Status CheckPipeline(const std::string& f, const v1::PipelineSpec& p) {
  NMOE_RETURN_IF_ERROR(CheckModel(f + ".base_model", p.base_model(), false));
  if (p.base_model().path().empty()) {
    if (!p.has_pretrain()) return Bad(f + ".pretrain", "is required when base_model.path is empty");
    NMOE_RETURN_IF_ERROR(CheckPretrain(f + ".pretrain", p.pretrain(), true));
  } else if (p.has_pretrain()) {
    return Bad(f + ".pretrain", "must be empty when base_model.path is given");
  }
  std::set<std::string> old_langs, new_langs, corpus_langs, heldout_langs;
  NMOE_RETURN_IF_ERROR(CheckLanguages(f + ".old_languages", p.old_languages(), true, &old_langs));
  NMOE_RETURN_IF_ERROR(CheckLanguages(f + ".new_languages", p.new_languages(), true, &new_langs));
  for (const auto& l : new_langs) {
    if (old_langs.count(l)) return Bad(f + ".new_languages", StrCat("'", l, "' is also an old language"));
  }
  NMOE_RETURN_IF_ERROR(CheckCorpora(f + ".corpora", p.corpora(), 1, &corpus_langs));
  NMOE_RETURN_IF_ERROR(CheckCorpora(f + ".heldout", p.heldout(), 1, &heldout_langs));
  for (const auto* langs : {&old_langs, &new_langs}) {
    for (const auto& l : *langs) {
      if (!corpus_langs.count(l)) return Bad(f + ".corpora", StrCat("has no corpus for language '", l, "'"));
      if (!heldout_langs.count(l)) return Bad(f + ".heldout", StrCat("has no held-out text for language '", l, "'"));
    }
  }
  NMOE_RETURN_IF_ERROR(CheckProfile(f + ".profile", p.profile(), true));
  bool neuron_guided = false;
  for (const auto& a : p.allocations()) neuron_guided |= a.strategy() == v1::ALLOCATION_STRATEGY_NEURON_GUIDED;
  for (int i = 0; i < p.allocations().size(); ++i) {
    const std::string field = StrCat(f, ".allocations[", i, "]");
    NMOE_RETURN_IF_ERROR(CheckAllocate(field, p.allocations(i), true));
    if (!p.allocations(i).profile_job_id().empty()) {
      return Bad(field + ".profile_job_id", "is set by the pipeline (its profile stage)");
    }
    if (p.allocations(i).strategy() == v1::ALLOCATION_STRATEGY_UNIFORM && p.allocations(i).uniform_experts() == 0 &&
        !neuron_guided) {
      return Bad(field + ".uniform_experts", "is required unless the pipeline also has a neuron-guided plan");
    }
  }
  NMOE_RETURN_IF_ERROR(CheckRange(f + ".top_k", p.top_k(), 0, 64));
  NMOE_RETURN_IF_ERROR(CheckEvaluateOptions(f + ".evaluate", p.evaluate()));
  NMOE_RETURN_IF_ERROR(CheckStages(f + ".stages", p.stages(), false, false));
  return CheckPath(f + ".output_path", p.output_path(), false);
}

}  // namespace

bool IsLanguageCode(const std::string& code) {
  size_t i = 0;
  while (i < code.size() && absl::ascii_islower(static_cast<unsigned char>(code[i]))) ++i;
  if (i < 2 || i > 3) return false;
  if (i == code.size()) return true;
  if (code[i] != '-') return false;
  const size_t rest = code.size() - i - 1;
  if (rest < 2 || rest > 8) return false;
  for (size_t j = i + 1; j < code.size(); ++j) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(code[j]))) return false;
  }
  return true;
}

namespace {

// Names and labels are printed in tables, logs and events: a control character
// (carriage return, escape, ...) could rewrite what an operator's terminal shows.
absl::Status CheckNoControlCharacters(const std::string& field, const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      return Bad(field, absl::StrFormat("holds control character 0x%02x at byte %d; names and labels must be printable",
                                        c, i));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateJobSpec(const v1::JobSpec& spec) {
  if (spec.name().size() > kMaxNameBytes) return Bad("spec.name", StrCat("longer than ", kMaxNameBytes, " bytes"));
  NMOE_RETURN_IF_ERROR(CheckNoControlCharacters("spec.name", spec.name()));
  if (spec.labels().size() > kMaxLabels) return Bad("spec.labels", StrCat("more than ", kMaxLabels, " labels"));
  for (const auto& [key, value] : spec.labels()) {
    NMOE_RETURN_IF_ERROR(CheckNoControlCharacters("spec.labels (a key)", key));
    NMOE_RETURN_IF_ERROR(CheckNoControlCharacters(StrCat("spec.labels[", key, "]"), value));
    if (key.empty() || key.size() > kMaxLabelBytes || value.size() > kMaxLabelBytes) {
      return Bad(StrCat("spec.labels[", key, "]"), StrCat("keys need 1-", kMaxLabelBytes, " bytes, values at most ", kMaxLabelBytes));
    }
  }
  const auto& r = spec.resources();
  NMOE_RETURN_IF_ERROR(CheckRange("spec.resources.num_workers", r.num_workers(), 0, kMaxWorkers));
  NMOE_RETURN_IF_ERROR(CheckEnum("spec.resources.device", v1::DeviceKind_IsValid(r.device()), r.device()));
  NMOE_RETURN_IF_ERROR(CheckEnum("spec.resources.dtype", v1::ComputeDtype_IsValid(r.dtype()), r.dtype()));
  NMOE_RETURN_IF_ERROR(CheckRange("spec.resources.threads_per_worker", r.threads_per_worker(), 0, 1024));
  if (spec.has_max_restarts()) NMOE_RETURN_IF_ERROR(CheckRange("spec.max_restarts", spec.max_restarts(), 0, kMaxRestarts));
  switch (spec.kind_case()) {
    case v1::JobSpec::kProfile: return CheckProfile("spec.profile", spec.profile(), false);
    case v1::JobSpec::kAllocate: return CheckAllocate("spec.allocate", spec.allocate(), false);
    case v1::JobSpec::kTrain: return CheckTrain("spec.train", spec.train());
    case v1::JobSpec::kEvaluate: return CheckEvaluate("spec.evaluate", spec.evaluate());
    case v1::JobSpec::kPipeline: return CheckPipeline("spec.pipeline", spec.pipeline());
    case v1::JobSpec::kPretrain: return CheckPretrain("spec.pretrain", spec.pretrain(), false);
    case v1::JobSpec::KIND_NOT_SET: break;
  }
  return Bad("spec.kind", "one of profile, allocate, train, evaluate, pipeline or pretrain is required");
}

absl::Status ValidateSubmitRequest(const v1::SubmitJobRequest& request) {
  const std::string& key = request.idempotency_key();
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return Bad("idempotency_key", StrCat("longer than ", kMaxIdempotencyKeyBytes, " bytes"));
  }
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' && c != '-') {
      return Bad("idempotency_key", "may hold only letters, digits and . _ : -");
    }
  }
  if (!request.has_spec()) return Bad("spec", "is required");
  return ValidateJobSpec(request.spec());
}

}  // namespace nmoe
