#include "trainer/presets.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nmoe::trainer {
namespace {

struct PresetShape {
  const char* name;
  int64_t hidden;
  int64_t layers;
  int64_t heads;
  int64_t kv_heads;
  int64_t intermediate;
  int64_t max_positions;
};

constexpr PresetShape kPresets[] = {
    {"tiny", 64, 4, 4, 2, 192, 2048},
    {"small", 192, 8, 6, 2, 512, 4096},
};

}  // namespace

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

absl::StatusOr<model::ModelConfig> PresetConfig(const std::string& name, int64_t vocab_size,
                                                std::optional<int64_t> bos_id, std::optional<int64_t> eos_id) {
  if (vocab_size < 2) return absl::InvalidArgumentError(absl::StrCat("preset: vocab_size must be >= 2, got ", vocab_size));
  for (const auto& p : kPresets) {
    if (name != p.name) continue;
    model::ModelConfig c;
    c.architecture = model::Architecture::kLlama;
    c.hidden_size = p.hidden;
    c.intermediate_size = p.intermediate;
    c.num_hidden_layers = p.layers;
    c.num_attention_heads = p.heads;
    c.num_key_value_heads = p.kv_heads;
    c.head_dim = p.hidden / p.heads;
    c.vocab_size = vocab_size;
    c.max_position_embeddings = p.max_positions;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 500000.0;  // Llama-3's base; no rope_scaling at these lengths
    c.tie_word_embeddings = true;
    c.initializer_range = 0.02;
    c.torch_dtype = "float32";
    c.bos_token_id = bos_id;
    if (eos_id) c.eos_token_ids = {*eos_id};
    return c;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model preset '", name, "' (known: ", absl::StrJoin(PresetNames(), ", "), ")"));
}

}  // namespace nmoe::trainer
