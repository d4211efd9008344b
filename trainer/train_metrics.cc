#include "trainer/train_metrics.h"

#include "absl/strings/str_cat.h"

namespace nmoe::trainer {

std::vector<DeadExpertTracker::Change> DeadExpertTracker::Add(int64_t layer, const std::vector<uint64_t>& counts) {
  std::vector<uint64_t>* idle = nullptr;
  for (auto& [l, v] : idle_) {
    if (l == layer) idle = &v;
  }
  if (idle == nullptr) {
    idle_.emplace_back(layer, std::vector<uint64_t>(counts.size(), 0));
    idle = &idle_.back().second;
  }
  if (idle->size() < counts.size()) idle->resize(counts.size(), 0);
  std::vector<Change> changes;
  for (size_t e = 0; e < counts.size(); ++e) {
    uint64_t& n = (*idle)[e];
    const bool was_dead = n >= window_;
    n = counts[e] > 0 ? 0 : n + 1;
    const bool dead = n >= window_;
    if (dead != was_dead) changes.push_back({layer, static_cast<int64_t>(e), dead});
  }
  return changes;
}

int64_t DeadExpertTracker::Dead(int64_t layer) const {
  int64_t dead = 0;
  for (const auto& [l, v] : idle_) {
    if (l != layer) continue;
    for (uint64_t n : v) dead += n >= window_ ? 1 : 0;
  }
  return dead;
}

namespace {

prometheus::Family<prometheus::Gauge>* GaugeFamily(prometheus::Registry& r, const char* name, const char* help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

}  // namespace

TrainMetrics::TrainMetrics(prometheus::Registry* registry, std::string job_id, std::string stage,
                           uint64_t total_steps)
    : registry_(registry), labels_{{"job_id", std::move(job_id)}, {"stage", std::move(stage)}} {
  if (registry_ == nullptr) return;
  prometheus::Registry& r = *registry_;
  loss_ = GaugeFamily(r, "nmoe_train_loss", "Last step's loss by component (total, lm, balance, lpr, z, classifier)");
  lr_ = GaugeFamily(r, "nmoe_train_learning_rate", "Learning rate of the last step");
  grad_norm_ = GaugeFamily(r, "nmoe_train_grad_norm", "Global gradient L2 norm of the last step, before clipping");
  tokens_per_second_ = GaugeFamily(r, "nmoe_train_tokens_per_second", "Input tokens per second of the last step");
  step_ = GaugeFamily(r, "nmoe_train_step", "Steps done in the stage");
  total_steps_ = GaugeFamily(r, "nmoe_train_total_steps", "Steps of the stage");
  expert_share_ = GaugeFamily(r, "nmoe_moe_expert_token_share",
                              "Share of the MoE layer's (token, slot) pairs routed to the expert in the last step");
  dead_experts_ = GaugeFamily(r, "nmoe_moe_dead_experts", "Experts of the MoE layer without tokens in the last 20 steps");
  tokens_family_ = &prometheus::BuildCounter()
                        .Name("nmoe_train_tokens_total")
                        .Help("Input tokens trained on (global batch)")
                        .Register(r);
  tokens_ = &tokens_family_->Add(labels_);
  step_seconds_family_ = &prometheus::BuildHistogram()
                              .Name("nmoe_train_step_seconds")
                              .Help("Wall time per optimizer step")
                              .Register(r);
  step_seconds_ = &step_seconds_family_->Add(
      labels_, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
  Gauge(total_steps_, {})->Set(static_cast<double>(total_steps));
}

TrainMetrics::~TrainMetrics() {
  if (registry_ == nullptr) return;
  for (auto& [family, gauge] : gauges_) family->Remove(gauge);
  tokens_family_->Remove(tokens_);
  step_seconds_family_->Remove(step_seconds_);
}

prometheus::Gauge* TrainMetrics::Gauge(prometheus::Family<prometheus::Gauge>* family,
                                       const prometheus::Labels& extra) {
  prometheus::Labels labels = labels_;
  for (const auto& [k, v] : extra) labels[k] = v;
  prometheus::Gauge* g = &family->Add(labels);
  for (const auto& [f, existing] : gauges_) {
    if (existing == g) return g;
  }
  gauges_.emplace_back(family, g);
  return g;
}

void TrainMetrics::RecordStep(const StepRecord& r) {
  if (registry_ == nullptr) return;
  Gauge(loss_, {{"component", "total"}})->Set(r.loss);
  Gauge(lr_, {})->Set(r.lr);
  Gauge(grad_norm_, {})->Set(r.grad_norm);
  Gauge(tokens_per_second_, {})->Set(r.tokens_per_second);
  Gauge(step_, {})->Set(static_cast<double>(r.step));
  tokens_->Increment(static_cast<double>(r.tokens));
  step_seconds_->Observe(r.seconds);
}

void TrainMetrics::SetLoss(const std::string& component, double value) {
  if (registry_ == nullptr) return;
  Gauge(loss_, {{"component", component}})->Set(value);
}

void TrainMetrics::RecordRouting(const std::vector<LayerRoutingCounts>& step_counts,
                                 const std::function<void(const std::string&, bool dead)>& on_event) {
  for (const LayerRoutingCounts& layer : step_counts) {
    std::vector<uint64_t> all(static_cast<size_t>(layer.num_experts), 0);
    for (const auto& [group, n] : layer.by_group) {
      for (size_t e = 0; e < n.size() && e < all.size(); ++e) all[e] += n[e];
    }
    for (const DeadExpertTracker::Change& c : dead_.Add(layer.layer, all)) {
      if (on_event) {
        on_event(c.dead ? absl::StrCat("expert ", c.expert, " of layer ", c.layer, " got no token in the last ",
                                       kDeadExpertWindow, " steps (dead expert)")
                        : absl::StrCat("expert ", c.expert, " of layer ", c.layer, " receives tokens again"),
                 c.dead);
      }
    }
    if (registry_ == nullptr) continue;
    uint64_t total = 0;
    for (uint64_t n : all) total += n;
    const std::string l = std::to_string(layer.layer);
    for (size_t e = 0; e < all.size(); ++e) {
      Gauge(expert_share_, {{"layer", l}, {"expert", std::to_string(e)}})
          ->Set(total == 0 ? 0.0 : static_cast<double>(all[e]) / static_cast<double>(total));
    }
    Gauge(dead_experts_, {{"layer", l}})->Set(static_cast<double>(dead_.Dead(layer.layer)));
  }
}

}  // namespace nmoe::trainer
