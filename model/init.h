// Random initialisation as transformers' LlamaPreTrainedModel._init_weights: linear and
// embedding weights ~ normal(0, initializer_range), biases 0, RMSNorm weights 1.
// Deterministic for a seed (its own generator; the global one is untouched).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "model/causal_lm.h"

namespace nmoe::model {

// Fills every parameter of `model` in registration order. Works for any dtype the
// model was built in (bf16 draws in fp32 and rounds).
absl::Status RandomInit(CausalLm& model, uint64_t seed);

}  // namespace nmoe::model
