// Latency statistics for the benchmarks: recorded lock-free from any thread
// (gRPC callback threads included), read once at the end.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <grpcpp/support/status.h>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace nmoe::bench {

// Log-linear buckets of microseconds: exact below 64 us, then 64 buckets per
// power of two (relative error under 1/64), up to ~2^40 us.
class LatencyHistogram {
 public:
  void Record(absl::Duration latency);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // q in [0, 1]; 0 when empty. Milliseconds, from the middle of the bucket.
  double PercentileMs(double q) const;
  double MaxMs() const { return static_cast<double>(max_us_.load(std::memory_order_relaxed)) / 1e3; }
  double MeanMs() const;

 private:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kMaxExponent = 40;
  static constexpr int kBuckets = kSub + (kMaxExponent - kSubBits + 1) * kSub;
  static int BucketOf(uint64_t us);
  static double MiddleOf(int bucket);

  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> max_us_{0};
};

// One RPC method's outcomes: latency of the successful calls, count per status code.
class RpcStats {
 public:
  static constexpr int kCodes = 17;  // grpc::StatusCode 0..16
  void Record(const grpc::Status& status, absl::Duration latency);
  uint64_t ok() const { return by_code_[0].load(std::memory_order_relaxed); }
  uint64_t errors() const;
  uint64_t by_code(int code) const { return by_code_[code].load(std::memory_order_relaxed); }
  const LatencyHistogram& latency() const { return latency_; }
  // {"ok", "rate_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "errors": {CODE: n}}
  nlohmann::json ToJson(double seconds) const;

 private:
  LatencyHistogram latency_;
  std::array<std::atomic<uint64_t>, kCodes> by_code_{};
};

}  // namespace nmoe::bench
