// Hugging Face checkpoint folders <-> CausalLm: config.json + model.safetensors (or
// shards with model.safetensors.index.json) [+ tokenizer.json], the layout
// transformers' from_pretrained loads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/causal_lm.h"
#include "model/config.h"
#include "model/checkpoint_index.h"

namespace nmoe::model {

struct LoadModelOptions {
  // Dtype the model is built in (weights converted from the file's dtype).
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::Device(c10::kCPU);
  // Checkpoint tensors the model has no parameter for: false = reported in
  // LoadReport::unexpected (and logged), true = INVALID_ARGUMENT naming them.
  bool strict_unexpected = false;
};

struct LoadReport {
  // Names in the checkpoint the model does not use (e.g. lm_head.weight of a tied
  // model, or rotary_emb.inv_freq buffers of old checkpoints). Sorted.
  std::vector<std::string> unexpected;
};

// Copies every parameter of `model` from `checkpoint` (converting the dtype). Every
// expected tensor must be present with the parameter's shape:
//   INVALID_ARGUMENT "<source>: missing tensor 'model.layers.2.mlp.up_proj.weight' (shape [F, D] expected)"
//   INVALID_ARGUMENT "<file>: tensor 'model.norm.weight' has shape [8], expected [16]"
// On error the model's weights are partially overwritten.
absl::StatusOr<LoadReport> LoadWeightsInto(CausalLm& model, const safetensors::Checkpoint& checkpoint,
                                           bool strict_unexpected = false);

// config.json + weights of folder `dir` -> a ready model (eval and train both work;
// parameters require grad).
struct LoadedModel {
  std::shared_ptr<CausalLm> model;
  LoadReport report;
};
absl::StatusOr<LoadedModel> LoadPretrained(const std::string& dir, const LoadModelOptions& options = {});

// A model with random weights (init.h) for `config`.
absl::StatusOr<std::shared_ptr<CausalLm>> NewRandomModel(const ModelConfig& config, uint64_t seed,
                                                         const LoadModelOptions& options = {});

struct SaveModelOptions {
  // Dtype of the stored weights; nullopt = the model's. config.json's torch_dtype is set
  // to match.
  std::optional<c10::ScalarType> dtype;
  uint64_t max_shard_bytes = 5'000'000'000;  // transformers' default "5GB"
  // Copied to <dir>/tokenizer.json when given.
  std::optional<std::string> tokenizer_json;
};

// Writes config.json and the weights (HF names, tied lm_head omitted) into `dir`
// (created if missing; earlier weight files there are replaced).
absl::Status SavePretrained(const CausalLm& model, const std::string& dir, const SaveModelOptions& options = {});

}  // namespace nmoe::model
