// Tiny decoder configurations for model tests.
#pragma once

#include "model/config.h"

namespace nmoe::model::testing {

// hidden 64, 4 heads of 16, 2 kv heads, 3 layers, MLP 96, vocab 256; llama3 rope scaling
// on (with a short original context so all three frequency bands occur at head_dim 16).
inline ModelConfig TinyConfig(Architecture arch = Architecture::kLlama, bool tied = false) {
  ModelConfig c;
  c.architecture = arch;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 256;
  c.max_position_embeddings = 512;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  if (arch == Architecture::kLlama) c.rope_scaling = Llama3RopeScaling{8.0, 1.0, 4.0, 64};
  c.tie_word_embeddings = tied;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

}  // namespace nmoe::model::testing
