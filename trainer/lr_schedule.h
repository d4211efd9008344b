// Learning-rate schedule of every training stage: linear warmup, then cosine decay.
#pragma once

#include <cstdint>

namespace nmoe::trainer {

struct LrSchedule {
  double peak_lr = 1e-4;       // reached at the end of warmup
  uint64_t warmup_steps = 0;   // linear ramp; 0 = start at the peak
  uint64_t total_steps = 1;    // optimizer steps in the stage, > 0
  double min_lr_ratio = 0.0;   // cosine floor as a fraction of peak_lr

  // Learning rate of optimizer step `step` (0-based, the step about to be taken).
  // Warmup: peak * (step + 1) / warmup_steps, so the first step already learns.
  // Then cosine from peak (first step after warmup) down to peak * min_lr_ratio at
  // the last step (total_steps - 1). Steps past the end stay at the floor.
  double At(uint64_t step) const;
};

}  // namespace nmoe::trainer
