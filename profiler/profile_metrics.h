// Prometheus metrics of a profile task (docs/metrics.md): the sentences this worker
// profiles, how many are done, and the tokens per second of its forward passes. One
// ProfileMetrics per task; its series carry {job_id, rank} (a gang's ranks each
// export their own share) and the destructor removes them, so a worker's registry
// only holds the series of the task it runs.
#pragma once

#include <cstdint>
#include <string>

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace nmoe::profiler {

class ProfileMetrics {
 public:
  // `sentences`: this rank's share of the sentences. `registry` null: every call does
  // nothing.
  ProfileMetrics(prometheus::Registry* registry, std::string job_id, int rank, int64_t sentences);
  ~ProfileMetrics();
  ProfileMetrics(const ProfileMetrics&) = delete;
  ProfileMetrics& operator=(const ProfileMetrics&) = delete;

  // After a batch: sentences and tokens (real ones, no padding) done so far by this
  // rank, and the seconds since its collection started (tokens/s = tokens / seconds).
  void Record(int64_t sentences_done, uint64_t tokens_done, double seconds);

 private:
  prometheus::Registry* registry_;
  prometheus::Family<prometheus::Gauge>* sentences_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* done_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* tokens_per_second_family_ = nullptr;
  prometheus::Gauge* sentences_ = nullptr;
  prometheus::Gauge* done_ = nullptr;
  prometheus::Gauge* tokens_per_second_ = nullptr;
};

}  // namespace nmoe::profiler
