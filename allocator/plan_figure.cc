#include "allocator/plan_figure.h"

#include <fmt/format.h>

#include <algorithm>

#include "allocator/plan_builder.h"
#include "common/svg.h"

namespace nmoe::allocator {

std::string PlanLabel(const v1::Plan& plan) {
  std::string label = StrategyName(plan.strategy());
  const v1::AllocateSpec& in = plan.inputs();
  switch (plan.strategy()) {
    case v1::ALLOCATION_STRATEGY_NEURON_GUIDED: label += fmt::format(" (N_max={})", in.max_experts()); break;
    case v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY: label += fmt::format(" (B={})", in.budget()); break;
    case v1::ALLOCATION_STRATEGY_UNIFORM: label += fmt::format(" ({} per layer)", in.uniform_experts()); break;
    default: break;
  }
  if (in.total_budget() != 0) label += fmt::format(", cap {}", in.total_budget());
  return label;
}

absl::StatusOr<std::string> PlansFigureSvg(const std::vector<FigurePlan>& plans, const std::string& title) {
  if (plans.empty()) return absl::InvalidArgumentError("no plans to draw");
  size_t layers = 0;
  uint32_t most = 1;
  for (const FigurePlan& p : plans) {
    if (p.plan.experts_per_layer().empty()) {
      return absl::InvalidArgumentError(fmt::format("plan '{}' has no layers", p.label));
    }
    layers = std::max<size_t>(layers, p.plan.experts_per_layer_size());
    for (uint32_t n : p.plan.experts_per_layer()) most = std::max(most, n);
  }
  // Layout: fixed margins; bar groups fill the plot width.
  const double left = 60, right = 20, top = 50, legend_row = 20;
  const double bottom = 50 + legend_row * static_cast<double>(plans.size());
  // At least 400 units of plot width so the title and legend fit beside few layers.
  const double group = std::max({12.0, 6.0 * static_cast<double>(plans.size()) + 6.0, 400.0 / static_cast<double>(layers)});
  const double plot_w = group * static_cast<double>(layers), plot_h = 260;
  svg::Document doc(left + plot_w + right, top + plot_h + bottom);
  doc.Text(left + plot_w / 2, 24, title, 15, svg::Anchor::kMiddle);
  // Y axis: experts 0..most with a grid line at every integer (or every few).
  const uint32_t step = most <= 10 ? 1 : (most + 9) / 10;
  auto y_of = [&](double v) { return top + plot_h - v / most * plot_h; };
  for (uint32_t v = 0; v <= most; v += step) {
    doc.Line(left, y_of(v), left + plot_w, y_of(v), v == 0 ? "#444444" : "#dddddd");
    doc.Text(left - 6, y_of(v) + 4, std::to_string(v), 11, svg::Anchor::kEnd);
  }
  doc.Text(18, top + plot_h / 2, "experts per layer", 12, svg::Anchor::kMiddle, -90);
  // Bars: plan p of layer l at l * group + 3 + p * bar.
  const double bar = (group - 6) / static_cast<double>(plans.size());
  for (size_t p = 0; p < plans.size(); ++p) {
    const auto& experts = plans[p].plan.experts_per_layer();
    for (int l = 0; l < experts.size(); ++l) {
      const double x = left + l * group + 3 + static_cast<double>(p) * bar;
      doc.Rect(x, y_of(experts[l]), std::max(1.0, bar - 0.5), plot_h * experts[l] / most, svg::PaletteColor(p),
               fmt::format("{} layer {}: {} experts", plans[p].label, l, experts[l]));
    }
  }
  // X axis: layer numbers (every layer when they fit, else every 2nd or 5th).
  const size_t every = group >= 14 ? 1 : layers <= 40 ? 2 : 5;
  for (size_t l = 0; l < layers; l += every) {
    doc.Text(left + (static_cast<double>(l) + 0.5) * group, top + plot_h + 15, std::to_string(l), 10, svg::Anchor::kMiddle);
  }
  doc.Text(left + plot_w / 2, top + plot_h + 34, "layer", 12, svg::Anchor::kMiddle);
  for (size_t p = 0; p < plans.size(); ++p) {
    const double y = top + plot_h + 48 + legend_row * static_cast<double>(p);
    doc.Rect(left, y - 10, 12, 12, svg::PaletteColor(p));
    doc.Text(left + 18, y, fmt::format("{}: {} experts", plans[p].label, plans[p].plan.total_experts()), 12);
  }
  return doc.Finish();
}

}  // namespace nmoe::allocator
