// The profiler's figures as SVG text: a line chart (counts per layer, one line per
// language), stacked bars (counts per layer by component) and a heatmap (layer x
// language, or layer x language pair). Torch-free.
#pragma once

#include <string>
#include <vector>

namespace nmoe::profiler {

struct Series {
  std::string name;
  std::vector<double> values;  // one per x label
};

struct ChartText {
  std::string title;
  std::string x_title;
  std::string y_title;
};

// Series colours, in order (a colour-blind-safe palette, cycled).
const std::string& SeriesColor(size_t i);

std::string LineChart(const ChartText& text, const std::vector<std::string>& x_labels,
                      const std::vector<Series>& series);
std::string StackedBars(const ChartText& text, const std::vector<std::string>& x_labels,
                        const std::vector<Series>& series);
// values[row][column]; rows drawn top to bottom; cells coloured from white (the
// smallest value) to dark blue (the largest) and labelled with `%.*f` at `decimals`.
std::string Heatmap(const ChartText& text, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& column_labels, const std::vector<std::vector<double>>& values,
                    int decimals = 0);

}  // namespace nmoe::profiler
