#include "cli/format.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "common/proto_time.h"

namespace nmoe::cli {

std::string FormatShortDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string FormatAge(const google::protobuf::Timestamp& t, absl::Time now) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return FormatShortDuration(now - FromProtoTime(t));
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(t), absl::UTCTimeZone());
}

namespace {

// 1234 -> "1.23k", 12345 -> "12.3k", 123456 -> "123k".
std::string ScaleSi(double v) {
  static constexpr const char* kUnits[] = {"", "k", "M", "G", "T", "P"};
  int unit = 0;
  while (std::fabs(v) >= 1000.0 && unit < 5) {
    v /= 1000.0;
    ++unit;
  }
  if (std::fabs(v) >= 100.0) return fmt::format("{:.0f}{}", v, kUnits[unit]);
  if (std::fabs(v) >= 10.0) return fmt::format("{:.1f}{}", v, kUnits[unit]);
  return fmt::format("{:.2f}{}", v, kUnits[unit]);
}

}  // namespace

std::string FormatCount(uint64_t n) {
  if (n < 100000) return std::to_string(n);
  return ScaleSi(static_cast<double>(n));
}

std::string FormatRate(double per_second) {
  if (!(per_second > 0.0) || !std::isfinite(per_second)) return "0/s";
  if (per_second < 10.0) return fmt::format("{:.2f}/s", per_second);
  if (per_second < 100.0) return fmt::format("{:.1f}/s", per_second);
  if (per_second < 1000.0) return fmt::format("{:.0f}/s", per_second);
  double v = per_second;
  static constexpr const char* kUnits[] = {"", "k", "M", "G", "T"};
  int unit = 0;
  while (v >= 1000.0 && unit < 4) {
    v /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.1f}{}/s", v, kUnits[unit]);
}

std::string FormatMetric(double value) { return fmt::format("{:.4g}", value); }

std::string FormatMetrics(const google::protobuf::Map<std::string, double>& metrics,
                          int max_metrics) {
  std::map<std::string, double> sorted(metrics.begin(), metrics.end());
  std::string out;
  int shown = 0;
  for (const auto& [name, value] : sorted) {
    if (shown++ >= max_metrics) break;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={}", name, FormatMetric(value));
  }
  return out;
}

}  // namespace nmoe::cli
