// The decoder's configuration, read from and written to a Hugging Face config.json.
//
// Supported: model_type "llama" (Llama-3.x, incl. the "llama3" rope scaling rule) and
// "qwen2" (bias on q/k/v, none on o). Torch-free: other folders may include it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nmoe::model {

enum class Architecture { kLlama, kQwen2 };

// "llama" / "qwen2" (the model_type string).
const char* ArchitectureName(Architecture arch);

// The "llama3" rope scaling rule (Llama-3.1/3.2): long wavelengths divided by
// `factor`, short ones kept, a smooth blend in between.
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// Field names and meanings follow transformers' LlamaConfig / Qwen2Config.
struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  int64_t hidden_size = 0;           // D
  int64_t intermediate_size = 0;     // F (MLP width)
  int64_t num_hidden_layers = 0;     // L
  int64_t num_attention_heads = 0;   // H
  int64_t num_key_value_heads = 0;   // K (GQA groups); config default: H
  int64_t head_dim = 0;              // config default: D / H
  int64_t vocab_size = 0;            // V
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<Llama3RopeScaling> rope_scaling;  // nullopt: plain RoPE
  bool tie_word_embeddings = false;  // lm_head shares model.embed_tokens.weight
  bool attention_bias = false;       // llama only: bias on q, k, v and o
  bool mlp_bias = false;             // llama only: bias on gate, up, down
  double initializer_range = 0.02;   // std of the random init
  std::string torch_dtype = "float32";  // dtype of the stored weights: float32|bfloat16|float16
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // config.json holds an int or a list
  std::optional<int64_t> pad_token_id;
  // MoE layers (NeuronMoE step 3), nmoe's own keys: "nmoe_experts_per_layer" lists n_l
  // per layer, layer 0 first, counting the frozen original MLP (1 = the dense MLP);
  // empty = a dense model. "num_experts_per_tok" is the routers' top-k (written only
  // for MoE models). Layers with n_l >= 2 hold model/moe_mlp.h's MoeMlp.
  std::vector<int64_t> experts_per_layer;
  int64_t num_experts_per_tok = 2;
  // LayerMoE's per-sequence router classifier (METHOD.md step 3; model/moe_mlp.h), key
  // "nmoe_classifier_layers": the layers that have one, ascending, each with n_l >= 2.
  std::vector<int64_t> classifier_layers;
  // Keys of config.json this struct does not model, as a JSON object text. They are
  // written back unchanged (e.g. use_cache, transformers_version).
  std::string extra_json = "{}";

  // Bias presence per projection, derived from the architecture.
  bool qkv_bias() const { return architecture == Architecture::kQwen2 || attention_bias; }
  bool o_bias() const { return architecture == Architecture::kLlama && attention_bias; }
  bool mlp_has_bias() const { return architecture == Architecture::kLlama && mlp_bias; }
  int64_t q_size() const { return num_attention_heads * head_dim; }
  int64_t kv_size() const { return num_key_value_heads * head_dim; }
  // n_l of `layer` (1 for dense models and layers).
  int64_t ExpertsInLayer(int64_t layer) const {
    return layer >= 0 && static_cast<size_t>(layer) < experts_per_layer.size()
               ? experts_per_layer[static_cast<size_t>(layer)]
               : 1;
  }
  bool is_moe() const;  // some layer has n_l >= 2
  bool HasClassifier(int64_t layer) const;
  // Parameters of the model as built (tied embeddings counted once).
  int64_t NumParameters() const;
};

// INVALID_ARGUMENT naming the field for anything the model cannot be built from:
// non-positive sizes, heads not divisible by kv heads, odd head_dim, token ids outside
// the vocabulary, bad rope scaling factors, unknown dtype.
absl::Status ValidateModelConfig(const ModelConfig& config);

// Parses config.json text and validates it. Required: model_type, hidden_size,
// intermediate_size, num_hidden_layers, num_attention_heads, vocab_size. Other fields
// take transformers' defaults. UNIMPLEMENTED for a model_type, hidden_act, rope type or
// sliding window this project does not implement; INVALID_ARGUMENT for malformed input.
absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text);
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

// config.json text in the form transformers loads (architectures, model_type, all
// fields above, then the preserved extra keys). Validates first.
absl::StatusOr<std::string> ModelConfigToJson(const ModelConfig& config);
absl::Status SaveModelConfig(const ModelConfig& config, const std::string& path);

}  // namespace nmoe::model
