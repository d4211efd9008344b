#include "trainer/moe_loss.h"

#include <c10/util/Exception.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "model/moe_losses.h"
#include "trainer/packed_batches.h"

namespace nmoe::trainer {

MoeLoss::MoeLoss(model::CausalLm& model, MoeLossOptions options) : model_(model), options_(std::move(options)) {
  for (int64_t i = 0; i < model_.num_layers(); ++i) {
    auto* layer = dynamic_cast<model::MoeMlp*>(&model_.layer(i).mlp());
    if (layer == nullptr) continue;
    layer->set_record_routing(true);
    LayerRoutingCounts c;
    c.layer = i;
    c.num_experts = layer->num_experts();
    c.top_k = std::min(layer->top_k(), layer->num_experts());
    routing_.push_back(std::move(c));
  }
}

std::vector<LayerRoutingCounts> MoeLoss::TakeRouting() {
  std::vector<LayerRoutingCounts> out = routing_;
  for (LayerRoutingCounts& c : routing_) c.by_group.clear();
  return out;
}

MoeLoss::~MoeLoss() {
  for (model::MoeMlp* layer : model::MoeLayers(model_)) {
    layer->set_record_routing(false);
    layer->ClearRouting();
  }
}

absl::StatusOr<at::Tensor> MoeLoss::operator()(const Batch& batch) {
  auto lm = LmLossSum(model_, batch);
  if (!lm.ok()) return lm.status();
  try {
    const std::vector<model::MoeMlp*> layers = model::MoeLayers(model_);
    const double tokens = static_cast<double>(std::max<int64_t>(batch.predicted_tokens, 1));
    last_ = MoeLossParts{};
    last_.lm = lm->item<double>() / tokens;
    if (layers.empty()) return *lm;
    at::Tensor old_N;
    if (options_.lpr_coef > 0) {
      if (!batch.source_BT.defined()) return absl::InternalError("LPR loss: the batch carries no token sources");
      std::vector<int64_t> table(options_.old_shard.begin(), options_.old_shard.end());
      const at::Tensor old_S = at::tensor(table, at::kLong);
      old_N = old_S.index_select(0, batch.source_BT.reshape({-1}));
    }
    at::Tensor aux = at::zeros({}, at::kFloat);
    const double n = static_cast<double>(layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
      model::MoeMlp* layer = layers[i];
      const model::RouterOutputs& r = layer->last_routing();
      if (i < routing_.size()) {
        auto counts = CountAssignments(r.experts_NK, r.mask_N, r.num_experts);
        if (!counts.ok()) return counts.status();
        std::vector<uint64_t>& total = routing_[i].by_group[""];
        total.resize(counts->size(), 0);
        for (size_t e = 0; e < counts->size(); ++e) total[e] += (*counts)[e];
      }
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
      layer->ClearRouting();
    }
    return *lm + aux * tokens;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("MoE loss: ", e.what_without_backtrace()));
  }
}

}  // namespace nmoe::trainer
