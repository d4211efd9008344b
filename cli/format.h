// Small, pure formatting helpers shared by tables, watch output and the
// progress bar. All take their inputs explicitly (no clock reads) so tests
// pin the output exactly.
#pragma once

#include <google/protobuf/map.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace nmoe::cli {

// Compact duration for ages and ETAs: "0s", "42s", "3m05s", "2h03m", "4d05h".
// Negative durations print as "0s".
std::string FormatShortDuration(absl::Duration d);

// The age of `t` at `now` ("3m05s"), or "-" when `t` is unset (epoch 0).
std::string FormatAge(const google::protobuf::Timestamp& t, absl::Time now);

// RFC 3339 in UTC with second precision ("2024-05-01T12:00:03Z"), or "-"
// when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& t);

// Counts: exact below 100000 ("1200", "99999"), then "123k", "1.23M", "45.6G".
std::string FormatCount(uint64_t n);

// Rates: "0/s", "0.25/s", "45.2/s", "312/s", "1.2k/s", "3.4M/s".
std::string FormatRate(double per_second);

// A metric value with 4 significant digits: "2.31", "0.0001", "1.235e+05".
std::string FormatMetric(double value);

// "loss=2.31 lr=0.0001": at most `max_metrics` entries, by name.
std::string FormatMetrics(const google::protobuf::Map<std::string, double>& metrics,
                          int max_metrics);

}  // namespace nmoe::cli
