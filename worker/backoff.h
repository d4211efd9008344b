// Retry delays after a failed call to the coordinator: exponential, capped and
// jittered so that many workers that lost the same coordinator do not come
// back in lockstep.
#pragma once

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace nmoe::worker {

struct BackoffOptions {
  absl::Duration initial = absl::Milliseconds(100);  // first delay (before jitter)
  absl::Duration max = absl::Seconds(5);             // cap of the undithered delay
  double multiplier = 2.0;                           // growth per failure
  double jitter = 0.2;                               // delay x uniform[1 - jitter, 1 + jitter]
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options, uint64_t seed = std::random_device()());

  // The delay before the next retry; grows until Reset().
  absl::Duration Next();
  // After a success: the next failure starts from `initial` again.
  void Reset() { current_ = options_.initial; }

 private:
  BackoffOptions options_;
  absl::Duration current_;
  std::mt19937_64 rng_;
};

}  // namespace nmoe::worker
