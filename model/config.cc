// Validation and derived sizes of ModelConfig (parsing lives in config_json.cc).
#include "model/config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace nmoe::model {
namespace {

absl::Status Positive(const char* field, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, " must be > 0, got ", value));
}

absl::Status PositiveReal(const char* field, double value) {
  if (value > 0) return absl::OkStatus();  // also rejects NaN
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, " must be > 0, got ", value));
}

absl::Status TokenId(const char* field, int64_t id, int64_t vocab_size) {
  if (id >= 0 && id < vocab_size) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("config: ", field, " = ", id, " is outside the vocabulary [0, ", vocab_size, ")"));
}

}  // namespace

const char* ArchitectureName(Architecture arch) {
  switch (arch) {
    case Architecture::kLlama:
      return "llama";
    case Architecture::kQwen2:
      return "qwen2";
  }
  return "unknown";
}

absl::Status ValidateModelConfig(const ModelConfig& c) {
  if (c.architecture != Architecture::kLlama && c.architecture != Architecture::kQwen2) {
    return absl::InvalidArgumentError("config: unknown architecture");
  }
  if (auto s = Positive("hidden_size", c.hidden_size); !s.ok()) return s;
  if (auto s = Positive("intermediate_size", c.intermediate_size); !s.ok()) return s;
  if (auto s = Positive("num_hidden_layers", c.num_hidden_layers); !s.ok()) return s;
  if (auto s = Positive("num_attention_heads", c.num_attention_heads); !s.ok()) return s;
  if (auto s = Positive("num_key_value_heads", c.num_key_value_heads); !s.ok()) return s;
  if (auto s = Positive("head_dim", c.head_dim); !s.ok()) return s;
  if (auto s = Positive("vocab_size", c.vocab_size); !s.ok()) return s;
  if (auto s = Positive("max_position_embeddings", c.max_position_embeddings); !s.ok()) return s;
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: num_attention_heads (", c.num_attention_heads,
                     ") must be a multiple of num_key_value_heads (", c.num_key_value_heads, ")"));
  }
  if (c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: head_dim must be even for rotary embeddings, got ", c.head_dim));
  }
  if (auto s = PositiveReal("rms_norm_eps", c.rms_norm_eps); !s.ok()) return s;
  if (auto s = PositiveReal("rope_theta", c.rope_theta); !s.ok()) return s;
  if (!(c.initializer_range >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: initializer_range must be >= 0, got ", c.initializer_range));
  }
  if (c.rope_scaling) {
    const Llama3RopeScaling& r = *c.rope_scaling;
    if (auto s = PositiveReal("rope_scaling.factor", r.factor); !s.ok()) return s;
    if (auto s = PositiveReal("rope_scaling.low_freq_factor", r.low_freq_factor); !s.ok()) return s;
    if (!(r.high_freq_factor > r.low_freq_factor)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: rope_scaling.high_freq_factor (", r.high_freq_factor,
                       ") must exceed low_freq_factor (", r.low_freq_factor, ")"));
    }
    if (auto s = Positive("rope_scaling.original_max_position_embeddings",
                          r.original_max_position_embeddings);
        !s.ok()) {
      return s;
    }
  }
  if (c.architecture == Architecture::kQwen2 && (c.attention_bias || c.mlp_bias)) {
    return absl::InvalidArgumentError(
        "config: attention_bias / mlp_bias are llama options; qwen2 has fixed biases (q, k, v)");
  }
  if (c.torch_dtype != "float32" && c.torch_dtype != "bfloat16" && c.torch_dtype != "float16") {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: torch_dtype must be float32, bfloat16 or float16, got '", c.torch_dtype, "'"));
  }
  if (c.bos_token_id) {
    if (auto s = TokenId("bos_token_id", *c.bos_token_id, c.vocab_size); !s.ok()) return s;
  }
  for (int64_t id : c.eos_token_ids) {
    if (auto s = TokenId("eos_token_id", id, c.vocab_size); !s.ok()) return s;
  }
  if (c.pad_token_id) {
    if (auto s = TokenId("pad_token_id", *c.pad_token_id, c.vocab_size); !s.ok()) return s;
  }
  if (!c.experts_per_layer.empty()) {
    if (static_cast<int64_t>(c.experts_per_layer.size()) != c.num_hidden_layers) {
      return absl::InvalidArgumentError(absl::StrCat("config: nmoe_experts_per_layer has ", c.experts_per_layer.size(),
                                                     " entries for ", c.num_hidden_layers, " layers"));
    }
    for (size_t l = 0; l < c.experts_per_layer.size(); ++l) {
      if (c.experts_per_layer[l] < 1 || c.experts_per_layer[l] > 1024) {
        return absl::InvalidArgumentError(absl::StrCat("config: nmoe_experts_per_layer[", l,
                                                       "] must be in 1..1024, got ", c.experts_per_layer[l]));
      }
    }
    if (auto s = Positive("num_experts_per_tok", c.num_experts_per_tok); !s.ok()) return s;
  }
  for (size_t i = 0; i < c.classifier_layers.size(); ++i) {
    const int64_t l = c.classifier_layers[i];
    if (l < 0 || l >= c.num_hidden_layers) {
      return absl::InvalidArgumentError(absl::StrCat("config: nmoe_classifier_layers[", i, "] = ", l,
                                                     " is not a layer (0..", c.num_hidden_layers - 1, ")"));
    }
    if (c.ExpertsInLayer(l) < 2) {
      return absl::InvalidArgumentError(absl::StrCat("config: nmoe_classifier_layers[", i, "]: layer ", l,
                                                     " has no MoE (n_l = ", c.ExpertsInLayer(l),
                                                     "); a sequence classifier needs n_l >= 2"));
    }
    if (i > 0 && l <= c.classifier_layers[i - 1]) {
      return absl::InvalidArgumentError("config: nmoe_classifier_layers must be ascending without repeats");
    }
  }
  return absl::OkStatus();
}

bool ModelConfig::HasClassifier(int64_t layer) const {
  return std::find(classifier_layers.begin(), classifier_layers.end(), layer) != classifier_layers.end();
}

bool ModelConfig::is_moe() const {
  for (int64_t n : experts_per_layer) {
    if (n >= 2) return true;
  }
  return false;
}

int64_t ModelConfig::NumParameters() const {
  const int64_t d = hidden_size;
  int64_t attn = d * q_size() + 2 * d * kv_size() + q_size() * d;
  if (qkv_bias()) attn += q_size() + 2 * kv_size();
  if (o_bias()) attn += d;
  int64_t mlp = 3 * d * intermediate_size;
  if (mlp_has_bias()) mlp += 2 * intermediate_size + d;
  const int64_t layer = attn + mlp + 2 * d;  // two RMSNorm weights
  const int64_t embed = vocab_size * d;
  int64_t experts = 0;  // added experts and their routers
  for (int64_t n : experts_per_layer) {
    if (n >= 2) experts += (n - 1) * mlp + d * n;
  }
  experts += static_cast<int64_t>(classifier_layers.size()) * 2 * d;  // [2, D] each
  return embed + num_hidden_layers * layer + experts + d + (tie_word_embeddings ? 0 : embed);
}

}  // namespace nmoe::model
