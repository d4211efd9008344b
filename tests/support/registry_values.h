// The values in a prometheus-cpp registry, for tests of exported metrics.
#pragma once

#include <prometheus/registry.h>

#include <map>
#include <string>

namespace nmoe::testing {

// "name{label=value,...,}" (labels in registration order, each followed by a comma)
// -> the gauge's or counter's value, or a histogram's sample count.
inline std::map<std::string, double> RegistryValues(const prometheus::Registry& registry) {
  std::map<std::string, double> out;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    for (const prometheus::ClientMetric& m : f.metric) {
      std::string key = f.name + "{";
      for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
      key += "}";
      if (f.type == prometheus::MetricType::Gauge) out[key] = m.gauge.value;
      if (f.type == prometheus::MetricType::Counter) out[key] = m.counter.value;
      if (f.type == prometheus::MetricType::Histogram) out[key] = static_cast<double>(m.histogram.sample_count);
    }
  }
  return out;
}

}  // namespace nmoe::testing
