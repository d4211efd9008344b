#include "trainer/moe_model.h"

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/str_cat.h"
#include "model/moe_losses.h"
#include "model/moe_mlp.h"

namespace nmoe::trainer {

absl::StatusOr<std::shared_ptr<model::CausalLm>> BuildMoeModel(const model::CausalLm& base,
                                                               const std::vector<int64_t>& experts_per_layer,
                                                               int64_t top_k, uint64_t seed,
                                                               const std::vector<int64_t>& classifier_layers) {
  model::ModelConfig config = base.config();
  if (static_cast<int64_t>(experts_per_layer.size()) != config.num_hidden_layers) {
    return absl::InvalidArgumentError(absl::StrCat("the plan has ", experts_per_layer.size(),
                                                   " layers, the base model ", config.num_hidden_layers));
  }
  if (base.config().is_moe()) {
    return absl::InvalidArgumentError("the base model already has MoE layers; start from a dense model");
  }
  config.experts_per_layer = experts_per_layer;
  config.num_experts_per_tok = top_k;
  config.classifier_layers = classifier_layers;
  if (absl::Status s = model::ValidateModelConfig(config); !s.ok()) return s;
  try {
    const at::TensorOptions options = base.embed_tokens().weight_VD().options();
    auto moe = std::make_shared<model::CausalLm>(config, options);
    torch::NoGradGuard no_grad;
    auto source = base.named_parameters(/*recurse=*/true);
    for (auto& item : moe->named_parameters(/*recurse=*/true)) {
      if (const at::Tensor* from = source.find(item.key())) item.value().copy_(*from);
    }
    for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
      if (auto* layer = dynamic_cast<model::MoeMlp*>(&moe->layer(l).mlp())) {
        auto* dense = dynamic_cast<model::SwiGluMlp*>(&base.layer(l).mlp());
        if (dense == nullptr) return absl::InternalError(absl::StrCat("base layer ", l, " has no dense MLP"));
        layer->UpcycleFrom(*dense, seed * 1000003ull + static_cast<uint64_t>(l));
      }
    }
    return moe;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("building the MoE model: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::vector<at::Tensor>> SelectTrainable(model::CausalLm& model, v1::Trainable trainable) {
  std::vector<at::Tensor> out;
  const bool all = trainable == v1::TRAINABLE_ALL;
  for (auto& p : model.parameters()) p.set_requires_grad(all);
  if (all) return model.parameters();
  for (model::MoeMlp* layer : model::MoeLayers(model)) {
    at::Tensor router = layer->router().weight_OI();
    router.set_requires_grad(true);
    out.push_back(router);
    if (model::Linear* classifier = layer->classifier()) {
      at::Tensor w = classifier->weight_OI();
      w.set_requires_grad(true);
      out.push_back(w);
    }
    if (trainable == v1::TRAINABLE_ROUTERS) continue;
    for (int64_t e = 1; e < layer->num_experts(); ++e) {
      for (auto& p : layer->expert(e).parameters()) {
        p.set_requires_grad(true);
        out.push_back(p);
      }
    }
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        "nothing to train: the model has no MoE layer (a plan with every n_l = 1) and the stage trains only experts "
        "or routers");
  }
  return out;
}

}  // namespace nmoe::trainer
