#include "common/progress_meter.h"

#include <utility>

namespace nmoe {

ProgressMeter::ProgressMeter(std::string stage, std::string unit, uint64_t total,
                             std::function<void(const v1::Progress&)> sink, const Clock* clock,
                             absl::Duration interval)
    : stage_(std::move(stage)),
      unit_(std::move(unit)),
      total_(total),
      sink_(std::move(sink)),
      clock_(clock),
      interval_(interval),
      start_(clock->Now()) {}

bool ProgressMeter::Update(uint64_t done, const std::map<std::string, double>& metrics) {
  done_ = done;
  const bool first = last_sent_ == absl::InfinitePast();
  const bool last = total_ > 0 && done >= total_;
  if (!first && !last && clock_->Now() - last_sent_ < interval_) return false;
  Send(metrics);
  return true;
}

void ProgressMeter::Flush(const std::map<std::string, double>& metrics) { Send(metrics); }

void ProgressMeter::Send(const std::map<std::string, double>& metrics) {
  const absl::Time now = clock_->Now();
  const absl::Time since = last_sent_ == absl::InfinitePast() ? start_ : last_sent_;
  const double seconds = absl::ToDoubleSeconds(now - since);
  if (seconds > 0 && done_ >= last_done_) {
    const double recent = static_cast<double>(done_ - last_done_) / seconds;
    rate_ = rate_ == 0 ? recent : 0.7 * rate_ + 0.3 * recent;
  }
  last_sent_ = now;
  last_done_ = done_;
  v1::Progress p;
  p.set_stage(stage_);
  p.set_unit(unit_);
  p.set_done(done_);
  p.set_total(total_);
  p.set_rate_per_second(rate_);
  for (const auto& [k, v] : metrics) (*p.mutable_metrics())[k] = v;
  sink_(p);
}

}  // namespace nmoe
