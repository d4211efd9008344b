// The decoder language model: transformers' LlamaForCausalLM / Qwen2ForCausalLM.
//
// Parameter names equal the Hugging Face tensor names, so named_parameters() maps 1:1
// onto a checkpoint:
//   model.embed_tokens.weight                         [V, D]
//   model.layers.{i}.input_layernorm.weight           [D]
//   model.layers.{i}.self_attn.{q,k,v,o}_proj.weight  [H*d, D] [K*d, D] [K*d, D] [D, H*d]
//   model.layers.{i}.self_attn.{q,k,v}_proj.bias      qwen2, or llama with attention_bias
//   model.layers.{i}.self_attn.o_proj.bias            llama with attention_bias
//   model.layers.{i}.post_attention_layernorm.weight  [D]
//   model.layers.{i}.mlp.{gate,up}_proj.weight        [F, D]
//   model.layers.{i}.mlp.down_proj.weight             [D, F]   (+ .bias with mlp_bias)
//   model.norm.weight                                 [D]
//   lm_head.weight                                    [V, D]   absent when tied
//
// Shape legend: B batch, T time, D hidden, F intermediate, V vocab, H heads, K kv
// heads, d head_dim, L layers.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "model/config.h"
#include "model/decoder_layer.h"
#include "model/hooks.h"
#include "model/linear.h"
#include "model/rope.h"

namespace nmoe::model {

struct ForwardOptions {
  // Optional (B,T) valid-token mask, 1/true = real token, 0 = padding (left or right).
  // Padding keys are hidden from every query; outputs at padding positions are
  // unspecified (finite). Undefined: no padding.
  at::Tensor mask_BT;
  // Optional (B,T) int64 rotary positions. Default 0..T-1 in every row, as transformers'
  // forward without position_ids; with left padding pass PositionsFromMask(mask_BT) to
  // give each row's real tokens the positions of an unpadded run.
  at::Tensor positions_BT;
  // With a mask that has padding: run the token-wise work (embedding, norms, all
  // projections, MLP, LM head) on the real tokens only, and the padded layout only
  // inside attention. Outputs at real positions equal the padded run's (to float
  // rounding); padding positions of the outputs are zero; hooks see PackedTokens
  // (hooks.h). Ignored (padded run) when a layer's MLP is not the dense SwiGluMlp (an
  // MoE's routing statistics and sequence classifier need the padded batch).
  bool unpad = false;
  bool compute_logits = true;          // false: stop after model.norm (profiling)
  bool output_hidden_states = false;   // transformers' hidden_states (L+1 entries)
};

struct ForwardOutput {
  at::Tensor logits_BTV;      // in the compute dtype; undefined when !compute_logits
  at::Tensor last_hidden_BTD;  // after model.norm
  // When requested: the embeddings, the output of layers 0..L-2, and last_hidden_BTD
  // (transformers' convention: the final entry is normed).
  std::vector<at::Tensor> hidden_states_BTD;
};

// cumsum(mask) - 1, clamped at 0: positions that ignore left padding.
at::Tensor PositionsFromMask(const at::Tensor& mask_BT);

class CausalLm : public torch::nn::Module {
 public:
  // Allocates every parameter in `options` (dtype/device) WITHOUT initialising it: fill
  // with RandomInit (init.h) or LoadCheckpointInto (checkpoint.h). `config` must be
  // valid (ValidateModelConfig).
  CausalLm(const ModelConfig& config, const at::TensorOptions& options);

  // ids_BT: int64 (or int32) token ids in [0, V). INVALID_ARGUMENT for bad shapes,
  // ids or masks; INTERNAL (with context) when LibTorch throws. Autograd flows through
  // unless the caller holds a NoGradGuard.
  absl::StatusOr<ForwardOutput> Forward(const at::Tensor& ids_BT, const ForwardOptions& options = {});

  // Attach (or with nullptr detach) the receiver of activations; see hooks.h.
  void SetHooks(std::shared_ptr<ActivationHooks> hooks) { hooks_ = std::move(hooks); }
  const std::shared_ptr<ActivationHooks>& hooks() const { return hooks_; }

  // logits_BTV = hidden_BTD W_VD^T (lm_head or the tied embedding).
  at::Tensor Logits(const at::Tensor& hidden_BTD) const;

  const ModelConfig& config() const { return config_; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  DecoderLayer& layer(int64_t i) const { return *layers_.at(static_cast<size_t>(i)); }
  Embedding& embed_tokens() const { return *embed_tokens_; }
  RmsNorm& norm() const { return *norm_; }
  Linear* lm_head() const { return lm_head_.get(); }  // nullptr when tied
  const RotaryEmbedding& rotary() const { return rotary_; }

 private:
  absl::Status CheckInputs(const at::Tensor& ids_BT, const ForwardOptions& options) const;
  ForwardOutput ForwardUnchecked(const at::Tensor& ids_BT, const ForwardOptions& options);
  // Every layer's MLP is a SwiGluMlp (token-wise): unpadding keeps the result.
  bool AllMlpsDense() const;

  ModelConfig config_;
  RotaryEmbedding rotary_;
  std::shared_ptr<torch::nn::Module> body_;  // "model"
  std::shared_ptr<Embedding> embed_tokens_;
  std::shared_ptr<torch::nn::Module> layer_list_;  // "model.layers"
  std::vector<std::shared_ptr<DecoderLayer>> layers_;
  std::shared_ptr<RmsNorm> norm_;
  std::shared_ptr<Linear> lm_head_;
  std::shared_ptr<ActivationHooks> hooks_;
};

}  // namespace nmoe::model
