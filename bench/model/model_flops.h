// Analytic model FLOPs of the decoder, shared by bench_model and bench_mfu.
//
// Per token, forward (PaLM's convention; the causal mask is not discounted):
//   2 * N_matmul + 4 * L * T * (H * hd)
// where N_matmul counts the weights of every matmul (q, k, v, o, gate, up, down of each
// layer, plus the LM head when logits are computed; embedding lookups, norms, RoPE,
// SiLU and softmax are not counted), T is the sequence length, and 4 L T H hd is the
// attention score (Q K^T) and value (P V) products. Training (forward + backward) = 3x.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "model/config.h"

namespace nmoe::bench {

// Weights of the matmuls of one decoder layer.
inline double LayerMatmulParams(const model::ModelConfig& c) {
  const double d = static_cast<double>(c.hidden_size), f = static_cast<double>(c.intermediate_size);
  const double q = static_cast<double>(c.q_size()), kv = static_cast<double>(c.kv_size());
  return d * q + 2 * d * kv + q * d + 3 * d * f;
}

// N_matmul: every layer's projections, plus the LM head (vocab x hidden) if `with_head`.
inline double MatmulParams(const model::ModelConfig& c, bool with_head = true) {
  const double head = with_head ? static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size) : 0.0;
  return static_cast<double>(c.num_hidden_layers) * LayerMatmulParams(c) + head;
}

// Model FLOPs per token at sequence length `seq`.
inline double FlopsPerToken(const model::ModelConfig& c, int64_t seq, bool training, bool with_head = true) {
  const double attn = static_cast<double>(c.num_hidden_layers) * static_cast<double>(seq) *
                      static_cast<double>(c.q_size());  // L T H hd
  const double forward = 2 * MatmulParams(c, with_head) + 4 * attn;
  return training ? 3 * forward : forward;
}

// The distinct (in, out) shapes of the model's linear layers, LM head included.
inline std::vector<std::pair<int64_t, int64_t>> LinearShapes(const model::ModelConfig& c) {
  std::vector<std::pair<int64_t, int64_t>> shapes = {
      {c.hidden_size, c.q_size()},       {c.hidden_size, c.kv_size()},         {c.q_size(), c.hidden_size},
      {c.hidden_size, c.intermediate_size}, {c.intermediate_size, c.hidden_size}, {c.hidden_size, c.vocab_size}};
  std::vector<std::pair<int64_t, int64_t>> unique;
  for (const auto& s : shapes) {
    bool seen = false;
    for (const auto& u : unique) seen = seen || u == s;
    if (!seen) unique.push_back(s);
  }
  return unique;
}

}  // namespace nmoe::bench
