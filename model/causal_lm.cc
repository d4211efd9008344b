#include "model/causal_lm.h"

#include <ATen/ops/linear.h>
#include <c10/util/Exception.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/attention_kernel.h"
#include "model/mlp.h"

namespace nmoe::model {
namespace {

std::string ShapeString(const at::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]"); }

}  // namespace

at::Tensor PositionsFromMask(const at::Tensor& mask_BT) {
  return (mask_BT.to(at::kLong).cumsum(1) - 1).clamp_min(0);
}

CausalLm::CausalLm(const ModelConfig& config, const at::TensorOptions& options)
    : torch::nn::Module("CausalLm"), config_(config), rotary_(config) {
  body_ = register_module("model", std::make_shared<torch::nn::Module>("DecoderModel"));
  embed_tokens_ =
      body_->register_module("embed_tokens", std::make_shared<Embedding>(config.vocab_size, config.hidden_size, options));
  layer_list_ = body_->register_module("layers", std::make_shared<torch::nn::Module>("Layers"));
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.push_back(layer_list_->register_module(std::to_string(i), std::make_shared<DecoderLayer>(config, i, options)));
  }
  norm_ = body_->register_module("norm", std::make_shared<RmsNorm>(config.hidden_size, config.rms_norm_eps, options));
  if (!config.tie_word_embeddings) {
    lm_head_ = register_module("lm_head",
                               std::make_shared<Linear>(config.hidden_size, config.vocab_size, /*bias=*/false, options));
  }
}

at::Tensor CausalLm::Logits(const at::Tensor& hidden_BTD) const {
  return at::linear(hidden_BTD, lm_head_ ? lm_head_->weight_OI() : embed_tokens_->weight_VD());
}

absl::Status CausalLm::CheckInputs(const at::Tensor& ids_BT, const ForwardOptions& options) const {
  if (!ids_BT.defined() || ids_BT.dim() != 2 || ids_BT.size(0) == 0 || ids_BT.size(1) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward: ids must be a non-empty (B,T) tensor, got ", ids_BT.defined() ? ShapeString(ids_BT) : "undefined"));
  }
  if (ids_BT.scalar_type() != at::kLong && ids_BT.scalar_type() != at::kInt) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward: ids must be int64 or int32, got ", c10::toString(ids_BT.scalar_type())));
  }
  const int64_t lo = ids_BT.min().item<int64_t>(), hi = ids_BT.max().item<int64_t>();
  if (lo < 0 || hi >= config_.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("forward: token id ", lo < 0 ? lo : hi,
                                                   " is outside the vocabulary [0, ", config_.vocab_size, ")"));
  }
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor&>{"mask", options.mask_BT},
                                std::pair<const char*, const at::Tensor&>{"positions", options.positions_BT}}) {
    if (t.defined() && t.sizes() != ids_BT.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat("forward: ", name, " has shape ", ShapeString(t),
                                                     ", expected the ids' shape ", ShapeString(ids_BT)));
    }
  }
  if (options.positions_BT.defined() && options.positions_BT.min().item<int64_t>() < 0) {
    return absl::InvalidArgumentError("forward: positions must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<ForwardOutput> CausalLm::Forward(const at::Tensor& ids_BT, const ForwardOptions& options) {
  try {
    if (absl::Status s = CheckInputs(ids_BT, options); !s.ok()) return s;
    return ForwardUnchecked(ids_BT, options);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("forward (", config_.num_hidden_layers, "-layer ",
                                            ArchitectureName(config_.architecture), ", ids ", ShapeString(ids_BT),
                                            "): ", e.what_without_backtrace()));
  }
}

bool CausalLm::AllMlpsDense() const {
  for (const auto& layer : layers_) {
    if (dynamic_cast<const SwiGluMlp*>(layer->mlp_ptr().get()) == nullptr) return false;
  }
  return true;
}

ForwardOutput CausalLm::ForwardUnchecked(const at::Tensor& ids_BT, const ForwardOptions& options) {
  const int64_t b = ids_BT.size(0), t = ids_BT.size(1);
  const at::Device device = embed_tokens_->weight_VD().device();
  at::Tensor ids = ids_BT.to(device, at::kLong);
  at::Tensor positions_BT = options.positions_BT.defined()
                                ? options.positions_BT.to(device, at::kLong)
                                : at::arange(t, at::TensorOptions().dtype(at::kLong).device(device)).expand({b, t});
  at::Tensor mask_BT = options.mask_BT.defined() ? options.mask_BT.to(device, at::kBool) : at::Tensor();
  const AttentionMask mask = MakeAttentionMask(b, t, mask_BT, device);

  // Unpadded: ids and positions become (1,N) real-token rows.
  PackedTokens packed;
  bool unpadded = false;
  if (options.unpad && mask_BT.defined() && AllMlpsDense()) {
    packed.batch = b;
    packed.time = t;
    packed.index_N = mask_BT.reshape({-1}).nonzero().squeeze(1);
    unpadded = packed.rows() > 0 && packed.rows() < b * t;
  }
  if (unpadded) {
    ids = ids.reshape({-1}).index_select(0, packed.index_N).unsqueeze(0);
    positions_BT = positions_BT.reshape({-1}).index_select(0, packed.index_N).unsqueeze(0);
  }
  // Outputs in the caller's (B,T,.) layout.
  const auto padded = [&](const at::Tensor& x) { return unpadded ? packed.Unpack(x) : x; };

  ForwardOutput out;
  at::Tensor x_BTD = embed_tokens_->Forward(ids);
  // cos/sin in the residual stream's dtype, as transformers (under autocast the rotation
  // then runs in fp32 and the attention matmuls in the autocast dtype).
  const auto [cos_BTd, sin_BTd] = rotary_.CosSin(positions_BT, x_BTD.scalar_type());
  LayerContext ctx;
  ctx.hooks = hooks_.get();
  ctx.mask_BT = unpadded ? at::Tensor() : mask_BT;
  ctx.packed = unpadded ? &packed : nullptr;
  for (int64_t i = 0; i < num_layers(); ++i) {
    if (options.output_hidden_states) out.hidden_states_BTD.push_back(padded(x_BTD));
    ctx.layer = i;
    x_BTD = layers_[static_cast<size_t>(i)]->Forward(x_BTD, cos_BTd, sin_BTd, mask, ctx);
  }
  const at::Tensor last_hidden_BTD = norm_->Forward(x_BTD);
  out.last_hidden_BTD = padded(last_hidden_BTD);
  if (options.output_hidden_states) out.hidden_states_BTD.push_back(out.last_hidden_BTD);
  if (options.compute_logits) out.logits_BTV = padded(Logits(last_hidden_BTD));
  return out;
}

}  // namespace nmoe::model
