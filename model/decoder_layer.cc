#include "model/decoder_layer.h"

#include "model/moe_mlp.h"

namespace nmoe::model {

DecoderLayer::DecoderLayer(const ModelConfig& c, int64_t layer_index, const at::TensorOptions& options)
    : torch::nn::Module("DecoderLayer") {
  input_layernorm_ = register_module("input_layernorm", std::make_shared<RmsNorm>(c.hidden_size, c.rms_norm_eps, options));
  self_attn_ = register_module("self_attn", std::make_shared<Attention>(c, options));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", std::make_shared<RmsNorm>(c.hidden_size, c.rms_norm_eps, options));
  const int64_t experts = c.ExpertsInLayer(layer_index);
  if (experts >= 2) {
    mlp_ = register_module<FeedForward>("mlp", std::make_shared<MoeMlp>(c, experts, c.num_experts_per_tok, options,
                                                                       c.HasClassifier(layer_index)));
  } else {
    mlp_ = register_module<FeedForward>("mlp", std::make_shared<SwiGluMlp>(c, options));
  }
}

at::Tensor DecoderLayer::Forward(const at::Tensor& x_BTD, const at::Tensor& cos_BTd, const at::Tensor& sin_BTd,
                                 const AttentionMask& mask, const LayerContext& ctx) const {
  const at::Tensor h_BTD = x_BTD + self_attn_->Forward(input_layernorm_->Forward(x_BTD), cos_BTd, sin_BTd, mask, ctx);
  const at::Tensor mlp_in_BTD = post_attention_layernorm_->Forward(h_BTD);
  ctx.Emit(Component::kMlpInput, mlp_in_BTD);
  return h_BTD + mlp_->Forward(mlp_in_BTD, ctx);
}

std::shared_ptr<FeedForward> DecoderLayer::ReplaceMlp(std::shared_ptr<FeedForward> mlp) {
  std::shared_ptr<FeedForward> previous = mlp_;
  mlp_ = replace_module("mlp", std::move(mlp));
  return previous;
}

}  // namespace nmoe::model
