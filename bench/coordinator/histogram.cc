#include "bench/coordinator/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/grpc_status.h"

namespace nmoe::bench {

int LatencyHistogram::BucketOf(uint64_t us) {
  if (us < kSub) return static_cast<int>(us);
  const int exponent = std::min(63 - std::countl_zero(us), kMaxExponent);
  const int shift = exponent - kSubBits;
  const uint64_t sub = std::min<uint64_t>((us >> shift) - kSub, kSub - 1);
  return kSub + shift * kSub + static_cast<int>(sub);
}

double LatencyHistogram::MiddleOf(int bucket) {
  if (bucket < kSub) return bucket + 0.5;
  const int shift = (bucket - kSub) / kSub;
  const uint64_t sub = static_cast<uint64_t>((bucket - kSub) % kSub);
  const double low = static_cast<double>((kSub + sub) << shift);
  return low + static_cast<double>(uint64_t{1} << shift) / 2;
}

void LatencyHistogram::Record(absl::Duration latency) {
  const int64_t signed_us = absl::ToInt64Microseconds(latency);
  const uint64_t us = signed_us < 0 ? 0 : static_cast<uint64_t>(signed_us);
  buckets_[BucketOf(us)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
  uint64_t max = max_us_.load(std::memory_order_relaxed);
  while (us > max && !max_us_.compare_exchange_weak(max, us, std::memory_order_relaxed)) {
  }
}

double LatencyHistogram::PercentileMs(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * total)));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(MiddleOf(b), static_cast<double>(max_us_.load())) / 1e3;
  }
  return MaxMs();
}

double LatencyHistogram::MeanMs() const {
  const uint64_t total = count();
  return total == 0 ? 0 : static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / total / 1e3;
}

void RpcStats::Record(const grpc::Status& status, absl::Duration latency) {
  const int code = static_cast<int>(status.error_code());
  by_code_[code >= 0 && code < kCodes ? code : static_cast<int>(grpc::StatusCode::UNKNOWN)].fetch_add(
      1, std::memory_order_relaxed);
  if (status.ok()) latency_.Record(latency);
}

uint64_t RpcStats::errors() const {
  uint64_t n = 0;
  for (int c = 1; c < kCodes; ++c) n += by_code(c);
  return n;
}

nlohmann::json RpcStats::ToJson(double seconds) const {
  nlohmann::json errors = nlohmann::json::object();
  for (int c = 1; c < kCodes; ++c) {
    if (by_code(c)) errors[GrpcCodeName(static_cast<grpc::StatusCode>(c))] = by_code(c);
  }
  return {{"ok", ok()},
          {"rate_per_s", seconds > 0 ? static_cast<double>(ok()) / seconds : 0.0},
          {"p50_ms", latency_.PercentileMs(0.50)},
          {"p90_ms", latency_.PercentileMs(0.90)},
          {"p99_ms", latency_.PercentileMs(0.99)},
          {"max_ms", latency_.MaxMs()},
          {"mean_ms", latency_.MeanMs()},
          {"errors", errors}};
}

}  // namespace nmoe::bench
