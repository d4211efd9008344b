#include "trainer/routing_stats.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nmoe::trainer {

absl::StatusOr<std::vector<uint64_t>> CountAssignments(const at::Tensor& experts_NK, const at::Tensor& mask_N,
                                                       int64_t num_experts) {
  std::vector<uint64_t> counts(static_cast<size_t>(std::max<int64_t>(num_experts, 0)), 0);
  try {
    const at::Tensor experts = experts_NK.to(at::kLong).contiguous();
    const int64_t n = experts.dim() == 0 ? 0 : experts.size(0);
    const int64_t k = experts.dim() >= 2 ? experts.numel() / std::max<int64_t>(n, 1) : 1;
    at::Tensor mask;
    if (mask_N.defined()) {
      mask = mask_N.to(at::kBool).reshape({-1}).contiguous();
      if (mask.numel() != n) {
        return absl::InvalidArgumentError(
            absl::StrCat("routing mask has ", mask.numel(), " tokens, the choices ", n));
      }
    }
    const int64_t* e = experts.data_ptr<int64_t>();
    const bool* valid = mask.defined() ? mask.data_ptr<bool>() : nullptr;
    for (int64_t i = 0; i < n; ++i) {
      if (valid != nullptr && !valid[i]) continue;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t expert = e[i * k + j];
        if (expert < 0 || expert >= num_experts) {
          return absl::InvalidArgumentError(
              absl::StrCat("routed expert ", expert, " outside [0, ", num_experts, ")"));
        }
        ++counts[static_cast<size_t>(expert)];
      }
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("counting routed experts: ", e.what_without_backtrace()));
  }
  return counts;
}

absl::Status AddRouting(const model::RouterOutputs& r, const std::string& group, LayerRoutingCounts& counts) {
  auto n = CountAssignments(r.experts_NK, r.mask_N, counts.num_experts);
  if (!n.ok()) return n.status();
  std::vector<uint64_t>& total = counts.by_group[group];
  total.resize(n->size(), 0);
  for (size_t e = 0; e < n->size(); ++e) total[e] += (*n)[e];
  if (r.expert0_only_N.defined()) {
    try {
      at::Tensor old = r.expert0_only_N.reshape({-1}).to(at::kBool);
      if (r.mask_N.defined()) old = old.logical_and(r.mask_N.reshape({-1}).to(at::kBool));
      counts.classifier_old[group] += static_cast<uint64_t>(old.sum().item<int64_t>());
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("counting classifier choices: ", e.what_without_backtrace()));
    }
  }
  return absl::OkStatus();
}

RoutingCounter::RoutingCounter(model::CausalLm& model) {
  for (int64_t i = 0; i < model.num_layers(); ++i) {
    auto* moe = dynamic_cast<model::MoeMlp*>(&model.layer(i).mlp());
    if (moe == nullptr) continue;
    moe->set_record_routing(true);
    moe->ClearRouting();
    layers_.push_back(moe);
    LayerRoutingCounts c;
    c.layer = i;
    c.num_experts = moe->num_experts();
    c.top_k = std::min(moe->top_k(), moe->num_experts());
    c.has_classifier = moe->classifier() != nullptr;
    counts_.push_back(std::move(c));
  }
}

RoutingCounter::~RoutingCounter() {
  for (model::MoeMlp* moe : layers_) {
    moe->set_record_routing(false);
    moe->ClearRouting();
  }
}

absl::Status RoutingCounter::Accumulate(const std::string& group) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    const model::RouterOutputs& r = layers_[i]->last_routing();
    if (!r.experts_NK.defined()) {
      return absl::InternalError(absl::StrCat("layer ", counts_[i].layer, " recorded no routing"));
    }
    NMOE_RETURN_IF_ERROR(AddRouting(r, group, counts_[i]));
    layers_[i]->ClearRouting();
  }
  return absl::OkStatus();
}

namespace {
double Share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}
uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t s = 0;
  for (uint64_t x : v) s += x;
  return s;
}
}  // namespace

std::vector<v1::LayerRouting> RoutingProtos(const std::vector<LayerRoutingCounts>& counts,
                                            const std::vector<std::string>& old_languages) {
  const std::set<std::string> old(old_languages.begin(), old_languages.end());
  std::vector<v1::LayerRouting> out;
  for (const LayerRoutingCounts& c : counts) {
    v1::LayerRouting layer;
    layer.set_layer(static_cast<uint32_t>(c.layer));
    layer.set_num_experts(static_cast<uint32_t>(c.num_experts));
    layer.set_top_k(static_cast<uint32_t>(c.top_k));
    std::vector<uint64_t> all(static_cast<size_t>(c.num_experts), 0);
    const uint64_t k = static_cast<uint64_t>(std::max<int64_t>(c.top_k, 1));
    uint64_t old_total = 0, old_expert0 = 0;
    for (const auto& [group, n] : c.by_group) {
      for (size_t e = 0; e < n.size() && e < all.size(); ++e) all[e] += n[e];
      const auto sent = c.classifier_old.find(group);
      const uint64_t alone = sent == c.classifier_old.end() ? 0 : sent->second;  // sent to expert 0 alone
      if (old.count(group) > 0 && !n.empty()) {
        old_total += Sum(n);
        // A token sent to expert 0 alone holds k pairs there but is one token using it.
        old_expert0 += n[0] - std::min(n[0], alone * (k - 1));
      }
      if (c.has_classifier) (*layer.mutable_classifier_old_share())[group] = Share(alone * k, Sum(n));
    }
    const uint64_t total = Sum(all);
    uint32_t dead = 0;
    for (int64_t e = 0; e < c.num_experts; ++e) {
      v1::ExpertRouting* x = layer.add_experts();
      x->set_expert(static_cast<uint32_t>(e));
      x->set_assignments(all[static_cast<size_t>(e)]);
      x->set_token_share(Share(all[static_cast<size_t>(e)], total));
      for (const auto& [group, n] : c.by_group) {
        const uint64_t mine = static_cast<size_t>(e) < n.size() ? n[static_cast<size_t>(e)] : 0;
        (*x->mutable_share_by_language())[group] = Share(mine, Sum(n));
      }
      if (all[static_cast<size_t>(e)] == 0) ++dead;
    }
    // Every valid token fills top_k slots, so the old tokens number old_total / top_k and
    // old_expert0 of them have expert 0 among their choices.
    if (!old.empty() && old_total > 0) {
      const double old_tokens = static_cast<double>(old_total) / static_cast<double>(k);
      layer.set_old_language_expert0_share(std::min(1.0, static_cast<double>(old_expert0) / old_tokens));
    }
    layer.set_dead_experts(dead);
    out.push_back(std::move(layer));
  }
  return out;
}

}  // namespace nmoe::trainer
