// Turns a task's step counter into throttled Progress reports with a rate.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "nmoe/v1/job.pb.h"

namespace nmoe {

class ProgressMeter {
 public:
  // Reports go to `sink` at most once per `interval` (the first and the last
  // always go). The rate is an exponential moving average over reports.
  ProgressMeter(std::string stage, std::string unit, uint64_t total,
                std::function<void(const v1::Progress&)> sink, const Clock* clock = SystemClock::Get(),
                absl::Duration interval = absl::Seconds(1));

  // `done` units finished so far (monotonic); `metrics` are the latest scalars.
  // Returns true when a report was sent.
  bool Update(uint64_t done, const std::map<std::string, double>& metrics = {});
  // Sends the current state now (end of a stage, before a long pause).
  void Flush(const std::map<std::string, double>& metrics = {});

  double rate_per_second() const { return rate_; }

 private:
  void Send(const std::map<std::string, double>& metrics);

  std::string stage_;
  std::string unit_;
  uint64_t total_;
  std::function<void(const v1::Progress&)> sink_;
  const Clock* clock_;
  absl::Duration interval_;
  absl::Time start_;
  absl::Time last_sent_ = absl::InfinitePast();
  uint64_t last_done_ = 0;
  uint64_t done_ = 0;
  double rate_ = 0;
};

}  // namespace nmoe
