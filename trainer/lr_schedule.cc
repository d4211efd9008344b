#include "trainer/lr_schedule.h"

#include <cmath>
#include <numbers>

namespace nmoe::trainer {

double LrSchedule::At(uint64_t step) const {
  if (step < warmup_steps) {
    return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const double floor = peak_lr * min_lr_ratio;
  if (step >= total_steps) return floor;
  const uint64_t decay_steps = total_steps - warmup_steps;  // >= 1: warmup_steps <= step < total_steps
  if (decay_steps == 1) return peak_lr;
  const double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps - 1);
  return floor + (peak_lr - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace nmoe::trainer
