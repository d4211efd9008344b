#include "trainer/moe_loss.h"

#include <c10/util/Exception.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/moe_losses.h"
#include "trainer/packed_batches.h"

namespace nmoe::trainer {

MoeLoss::MoeLoss(model::CausalLm& model, MoeLossOptions options) : model_(model), options_(std::move(options)) {
  for (int64_t i = 0; i < model_.num_layers(); ++i) {
    auto* layer = dynamic_cast<model::MoeMlp*>(&model_.layer(i).mlp());
    if (layer == nullptr) continue;
    layer->set_record_routing(true);
    if (layer->classifier() != nullptr) has_classifier_ = true;
    LayerRoutingCounts c;
    c.layer = i;
    c.num_experts = layer->num_experts();
    c.top_k = std::min(layer->top_k(), layer->num_experts());
    c.has_classifier = layer->classifier() != nullptr;
    routing_.push_back(std::move(c));
  }
}

std::vector<LayerRoutingCounts> MoeLoss::TakeRouting() {
  std::vector<LayerRoutingCounts> out = routing_;
  for (LayerRoutingCounts& c : routing_) {
    c.by_group.clear();
    c.classifier_old.clear();
  }
  return out;
}

MoeLoss::~MoeLoss() {
  for (model::MoeMlp* layer : model::MoeLayers(model_)) {
    layer->set_record_routing(false);
    layer->ClearRouting();
    layer->set_forced_old(at::Tensor());
  }
}

namespace {
// Sets the true old/new labels on the classifier layers for one forward; clears them
// when it goes out of scope, also on errors.
class ForcedLabels {
 public:
  ForcedLabels(const std::vector<model::MoeMlp*>& layers, const at::Tensor& old_N) : layers_(layers) {
    for (model::MoeMlp* l : layers_) l->set_forced_old(old_N);
  }
  ~ForcedLabels() {
    for (model::MoeMlp* l : layers_) l->set_forced_old(at::Tensor());
  }
  ForcedLabels(const ForcedLabels&) = delete;
  ForcedLabels& operator=(const ForcedLabels&) = delete;

 private:
  std::vector<model::MoeMlp*> layers_;
};

// Share of valid tokens whose classifier prediction matches old_N.
double ClassifierAccuracy(const model::RouterOutputs& r, const at::Tensor& old_N) {
  const at::Tensor predicted_old = r.classifier_logits_N2.select(1, 0).gt(r.classifier_logits_N2.select(1, 1));
  at::Tensor right = predicted_old.eq(old_N.reshape({-1}).to(at::kBool));
  if (r.mask_N.defined()) {
    right = right.logical_and(r.mask_N);
    const double valid = r.mask_N.sum().item<double>();
    return valid > 0 ? right.sum().item<double>() / valid : 0.0;
  }
  return right.numel() > 0 ? right.to(at::kDouble).mean().item<double>() : 0.0;
}
}  // namespace

absl::StatusOr<at::Tensor> MoeLoss::operator()(const Batch& batch) {
  const std::vector<model::MoeMlp*> layers = model::MoeLayers(model_);
  std::vector<model::MoeMlp*> classified;
  for (model::MoeMlp* l : layers) {
    if (l->classifier() != nullptr) classified.push_back(l);
  }
  at::Tensor old_N;  // per token: its shard's language is old
  if (options_.lpr_coef > 0 || !classified.empty()) {
    if (!batch.source_BT.defined()) {
      return absl::InternalError("LPR loss / sequence classifier: the batch carries no token sources");
    }
    try {
      std::vector<int64_t> table(options_.old_shard.begin(), options_.old_shard.end());
      if (table.empty()) table.push_back(0);
      const at::Tensor old_S = at::tensor(table, at::kLong);
      old_N = old_S.index_select(0, batch.source_BT.reshape({-1}).to(at::kLong));
    } catch (const c10::Error& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("token sources outside the stage's shards: ", e.what_without_backtrace()));
    }
  }
  absl::StatusOr<at::Tensor> lm;
  {
    ForcedLabels forced(classified, old_N);
    lm = LmLossSum(model_, batch);
  }
  if (!lm.ok()) return lm.status();
  try {
    const double tokens = static_cast<double>(std::max<int64_t>(batch.predicted_tokens, 1));
    last_ = MoeLossParts{};
    last_.lm = lm->item<double>() / tokens;
    if (layers.empty()) return *lm;
    at::Tensor aux = at::zeros({}, at::kFloat);
    const double n = static_cast<double>(layers.size());
    const double n_classified = static_cast<double>(std::max<size_t>(classified.size(), 1));
    for (size_t i = 0; i < layers.size(); ++i) {
      model::MoeMlp* layer = layers[i];
      const model::RouterOutputs& r = layer->last_routing();
      if (i < routing_.size()) NMOE_RETURN_IF_ERROR(AddRouting(r, "", routing_[i]));
      if (options_.balance_coef > 0) {
        const at::Tensor b = model::SwitchBalanceLoss(r);
        aux = aux + b * (options_.balance_coef / n);
        last_.balance += b.item<double>() / n;
      }
      if (options_.lpr_coef > 0) {
        const at::Tensor l = model::LprLoss(r, old_N);
        aux = aux + l * (options_.lpr_coef / n);
        last_.lpr += l.item<double>() / n;
      }
      if (options_.z_coef > 0) {
        const at::Tensor z = model::RouterZLoss(r);
        aux = aux + z * (options_.z_coef / n);
        last_.z += z.item<double>() / n;
      }
      if (r.classifier_logits_N2.defined()) {
        const at::Tensor c = model::SequenceClassifierLoss(r, old_N);
        if (options_.classifier_coef > 0) aux = aux + c * (options_.classifier_coef / n_classified);
        last_.classifier += c.item<double>() / n_classified;
        last_.classifier_accuracy += ClassifierAccuracy(r, old_N) / n_classified;
      }
      layer->ClearRouting();
    }
    return *lm + aux * tokens;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("MoE loss: ", e.what_without_backtrace()));
  }
}

}  // namespace nmoe::trainer
