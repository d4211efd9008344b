// Model size presets of the pretrain job kind (PretrainSpec.preset). Torch-free.
//
// Every preset is a Llama-3-style decoder (RMSNorm, RoPE theta 500000 without scaling,
// grouped-query attention, SwiGLU MLP) with tied input/output embeddings; the vocabulary
// and the BOS/EOS ids come from the tokenizer the run uses. docs/training.md lists the
// presets with their parameter counts and measured speed.
//   tiny   hidden 64,  4 layers, 4 heads (2 kv), MLP 192: unit tests, trains in seconds
//   small  hidden 192, 8 layers, 6 heads (2 kv), MLP 512: 4.8M parameters with an 8k
//          vocabulary; learns real structure in ~10 minutes on 2 CPU cores; 8 layers so
//          per-layer expert allocation has layers to tell apart. (Hidden 256 / MLP 768
//          reached a higher loss in the same time: in 10 minutes every size here is far
//          from trained, so cheaper tokens win; docs/training.md has the comparison.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/config.h"

namespace nmoe::trainer {

// Names of the presets, in size order.
std::vector<std::string> PresetNames();

// The preset's config with vocab_size = `vocab_size` and the given special ids.
// INVALID_ARGUMENT naming the known presets for an unknown name, or for a
// vocab_size < 2.
absl::StatusOr<model::ModelConfig> PresetConfig(const std::string& name, int64_t vocab_size,
                                                std::optional<int64_t> bos_id = std::nullopt,
                                                std::optional<int64_t> eos_id = std::nullopt);

}  // namespace nmoe::trainer
