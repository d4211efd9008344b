#include "profiler/figures.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/svg.h"

namespace nmoe::profiler {
namespace {

using Svg = svg::Document;
using svg::Anchor;

constexpr double kLeft = 70, kRight = 130, kTop = 40, kBottom = 60;

// A "nice" axis maximum and tick step for values up to `max`.
void NiceAxis(double max, double* top, double* step) {
  if (!(max > 0)) max = 1;
  const double raw = max / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / mag;
  *step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  *top = std::ceil(max / *step) * *step;
}

std::string Number(double v) {
  return std::fabs(v - std::round(v)) < 1e-9 ? absl::StrCat(static_cast<int64_t>(std::llround(v)))
                                             : absl::StrFormat("%.3g", v);
}

// Frame, axes, ticks, titles; returns the plot's y scale top.
double Axes(Svg& svg, const ChartText& text, double w, double h, const std::vector<std::string>& x_labels,
            double max_value, double* step) {
  double top = 0;
  NiceAxis(max_value, &top, step);
  const double pw = w - kLeft - kRight, ph = h - kTop - kBottom;
  svg.Text(w / 2, 22, text.title, 15, Anchor::kMiddle);
  for (double v = 0; v <= top + 1e-9; v += *step) {
    const double y = kTop + ph - v / top * ph;
    svg.Line(kLeft, y, kLeft + pw, y, "#e4e4e4");
    svg.Text(kLeft - 6, y + 4, Number(v), 11, Anchor::kEnd);
  }
  svg.Line(kLeft, kTop + ph, kLeft + pw, kTop + ph, "#444");
  svg.Line(kLeft, kTop, kLeft, kTop + ph, "#444");
  const size_t n = x_labels.size();
  const size_t every = std::max<size_t>(1, n / 28 + (n % 28 != 0 && n > 28 ? 1 : 0));
  for (size_t i = 0; i < n; i += every) {
    svg.Text(kLeft + (static_cast<double>(i) + 0.5) * pw / static_cast<double>(n), kTop + ph + 16, x_labels[i], 11,
             Anchor::kMiddle);
  }
  svg.Text(kLeft + pw / 2, h - 16, text.x_title, 12, Anchor::kMiddle);
  svg.Text(18, kTop + ph / 2, text.y_title, 12, Anchor::kMiddle, -90);
  return top;
}

void Legend(Svg& svg, double w, const std::vector<Series>& series) {
  for (size_t i = 0; i < series.size(); ++i) {
    const double y = kTop + 8 + 18 * static_cast<double>(i);
    svg.Rect(w - kRight + 14, y - 9, 12, 12, SeriesColor(i));
    svg.Text(w - kRight + 32, y + 1, series[i].name, 12);
  }
}

}  // namespace

const std::string& SeriesColor(size_t i) {
  static const std::vector<std::string> kColors = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                                   "#56B4E9", "#F0E442", "#000000", "#999999"};
  return kColors[i % kColors.size()];
}

std::string LineChart(const ChartText& text, const std::vector<std::string>& x_labels,
                      const std::vector<Series>& series) {
  const double w = std::max(640.0, 24.0 * static_cast<double>(x_labels.size()) + kLeft + kRight), h = 420;
  Svg svg(w, h);
  double max_value = 0;
  for (const Series& s : series) {
    for (double v : s.values) max_value = std::max(max_value, v);
  }
  double step = 1;
  const double top = Axes(svg, text, w, h, x_labels, max_value, &step);
  const double pw = w - kLeft - kRight, ph = h - kTop - kBottom;
  const double n = static_cast<double>(std::max<size_t>(1, x_labels.size()));
  for (size_t k = 0; k < series.size(); ++k) {
    std::string points;
    for (size_t i = 0; i < series[k].values.size() && i < x_labels.size(); ++i) {
      const double x = kLeft + (static_cast<double>(i) + 0.5) * pw / n;
      const double y = kTop + ph - series[k].values[i] / top * ph;
      absl::StrAppend(&points, points.empty() ? "" : " ", absl::StrFormat("%.2f,%.2f", x, y));
      svg.Circle(x, y, 2.5, SeriesColor(k), absl::StrCat(series[k].name, " ", x_labels[i], ": ", Number(series[k].values[i])));
    }
    svg.Polyline(points, SeriesColor(k));
  }
  Legend(svg, w, series);
  return svg.Finish();
}

std::string StackedBars(const ChartText& text, const std::vector<std::string>& x_labels,
                        const std::vector<Series>& series) {
  const double w = std::max(640.0, 24.0 * static_cast<double>(x_labels.size()) + kLeft + kRight), h = 420;
  Svg svg(w, h);
  std::vector<double> totals(x_labels.size(), 0);
  for (const Series& s : series) {
    for (size_t i = 0; i < s.values.size() && i < totals.size(); ++i) totals[i] += s.values[i];
  }
  double step = 1;
  const double top = Axes(svg, text, w, h, x_labels, *std::max_element(totals.begin(), totals.end()), &step);
  const double pw = w - kLeft - kRight, ph = h - kTop - kBottom;
  const double slot = pw / static_cast<double>(std::max<size_t>(1, x_labels.size()));
  std::vector<double> base(x_labels.size(), 0);
  for (size_t k = 0; k < series.size(); ++k) {
    for (size_t i = 0; i < series[k].values.size() && i < x_labels.size(); ++i) {
      const double v = series[k].values[i];
      if (v <= 0) continue;
      const double y0 = kTop + ph - (base[i] + v) / top * ph;
      svg.Rect(kLeft + static_cast<double>(i) * slot + slot * 0.15, y0, slot * 0.7, v / top * ph, SeriesColor(k),
               absl::StrCat(series[k].name, " ", x_labels[i], ": ", Number(v)));
      base[i] += v;
    }
  }
  Legend(svg, w, series);
  return svg.Finish();
}

std::string Heatmap(const ChartText& text, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& column_labels, const std::vector<std::vector<double>>& values,
                    int decimals) {
  const double cell_w = std::max(44.0, 8.0 * (decimals + 4)), cell_h = 20;
  const double w = 90 + cell_w * static_cast<double>(column_labels.size()) + 40;
  const double h = 80 + cell_h * static_cast<double>(row_labels.size()) + 40;
  Svg svg(std::max(w, 320.0), h);
  svg.Text(std::max(w, 320.0) / 2, 22, text.title, 15, Anchor::kMiddle);
  double lo = 0, hi = 0;
  bool first = true;
  for (const auto& row : values) {
    for (double v : row) {
      lo = first ? v : std::min(lo, v);
      hi = first ? v : std::max(hi, v);
      first = false;
    }
  }
  const double x0 = 90, y0 = 70;
  for (size_t c = 0; c < column_labels.size(); ++c) {
    svg.Text(x0 + (static_cast<double>(c) + 0.5) * cell_w, y0 - 8, column_labels[c], 12, Anchor::kMiddle);
  }
  svg.Text(x0 + cell_w * static_cast<double>(column_labels.size()) / 2, 46, text.x_title, 12, Anchor::kMiddle);
  svg.Text(16, y0 + cell_h * static_cast<double>(row_labels.size()) / 2, text.y_title, 12, Anchor::kMiddle, -90);
  for (size_t r = 0; r < row_labels.size() && r < values.size(); ++r) {
    const double y = y0 + static_cast<double>(r) * cell_h;
    svg.Text(x0 - 8, y + cell_h * 0.7, row_labels[r], 11, Anchor::kEnd);
    for (size_t c = 0; c < column_labels.size() && c < values[r].size(); ++c) {
      const double v = values[r][c];
      const double t = hi > lo ? (v - lo) / (hi - lo) : 0;
      // White -> #08306b.
      const int red = static_cast<int>(std::lround(255 - t * (255 - 8)));
      const int green = static_cast<int>(std::lround(255 - t * (255 - 48)));
      const int blue = static_cast<int>(std::lround(255 - t * (255 - 107)));
      const std::string label = absl::StrFormat("%.*f", decimals, v);
      const double x = x0 + static_cast<double>(c) * cell_w;
      svg.Rect(x, y, cell_w - 1, cell_h - 1, absl::StrFormat("#%02x%02x%02x", red, green, blue),
               absl::StrCat(row_labels[r], " / ", column_labels[c], ": ", label));
      svg.Text(x + cell_w / 2, y + cell_h * 0.7, label, 10, Anchor::kMiddle, 0, t > 0.55 ? "#ffffff" : "#222222");
    }
  }
  return svg.Finish();
}

}  // namespace nmoe::profiler
