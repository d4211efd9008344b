// Prometheus metrics of a training run (docs/training.md, "Metrics"): loss and its
// components, learning rate, gradient norm, tokens/s, step time, and for MoE models
// the experts' token share per layer and dead experts. One TrainMetrics per stage;
// every series carries {job_id, stage} and is removed by the destructor, so a worker's
// registry only holds series of the stage it runs.
//
// Dead experts: an expert is dead after `dead_window` consecutive steps without a
// (token, slot) pair; turning dead and coming back are reported to `on_event` (the
// task logs them as job events).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "trainer/routing_stats.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {

// Steps without a token after which an expert counts as dead.
inline constexpr uint64_t kDeadExpertWindow = 20;

// Consecutive steps without tokens per expert of each MoE layer (pure bookkeeping).
class DeadExpertTracker {
 public:
  explicit DeadExpertTracker(uint64_t window = kDeadExpertWindow) : window_(window) {}
  struct Change {
    int64_t layer;
    int64_t expert;
    bool dead;  // true: turned dead; false: got tokens again
  };
  // Adds one step's assignments of `layer` (index into the model's decoder layers);
  // returns the experts whose state changed.
  std::vector<Change> Add(int64_t layer, const std::vector<uint64_t>& counts);
  // Dead experts of `layer` now.
  int64_t Dead(int64_t layer) const;

 private:
  uint64_t window_;
  std::vector<std::pair<int64_t, std::vector<uint64_t>>> idle_;  // layer -> idle steps per expert
};

// The series of one stage of a job. `registry` null: every call does nothing.
class TrainMetrics {
 public:
  TrainMetrics(prometheus::Registry* registry, std::string job_id, std::string stage, uint64_t total_steps);
  ~TrainMetrics();
  TrainMetrics(const TrainMetrics&) = delete;
  TrainMetrics& operator=(const TrainMetrics&) = delete;

  // One optimizer step: total loss, learning rate, gradient norm, tokens, time.
  void RecordStep(const StepRecord& r);
  // A loss component of the last step ("lm", "balance", "lpr", "z").
  void SetLoss(const std::string& component, double value);
  // The step's routing of the MoE layers; `on_event` gets dead-expert changes.
  void RecordRouting(const std::vector<LayerRoutingCounts>& step_counts,
                     const std::function<void(const std::string&, bool dead)>& on_event);

 private:
  prometheus::Gauge* Gauge(prometheus::Family<prometheus::Gauge>* family, const prometheus::Labels& extra);

  prometheus::Registry* registry_;
  prometheus::Labels labels_;
  std::vector<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>> gauges_;
  prometheus::Family<prometheus::Gauge>* loss_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lr_ = nullptr;
  prometheus::Family<prometheus::Gauge>* grad_norm_ = nullptr;
  prometheus::Family<prometheus::Gauge>* tokens_per_second_ = nullptr;
  prometheus::Family<prometheus::Gauge>* step_ = nullptr;
  prometheus::Family<prometheus::Gauge>* total_steps_ = nullptr;
  prometheus::Family<prometheus::Gauge>* expert_share_ = nullptr;
  prometheus::Family<prometheus::Gauge>* dead_experts_ = nullptr;
  prometheus::Family<prometheus::Counter>* tokens_family_ = nullptr;
  prometheus::Counter* tokens_ = nullptr;
  prometheus::Family<prometheus::Histogram>* step_seconds_family_ = nullptr;
  prometheus::Histogram* step_seconds_ = nullptr;
  DeadExpertTracker dead_;
};

}  // namespace nmoe::trainer
