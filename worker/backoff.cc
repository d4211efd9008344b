#include "worker/backoff.h"

#include <algorithm>

namespace nmoe::worker {

Backoff::Backoff(BackoffOptions options, uint64_t seed)
    : options_(options), current_(options.initial), rng_(seed) {}

absl::Duration Backoff::Next() {
  const absl::Duration base = std::min(current_, options_.max);
  current_ = std::min(current_ * options_.multiplier, options_.max);
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0 + options_.jitter);
  return base * factor(rng_);
}

}  // namespace nmoe::worker
