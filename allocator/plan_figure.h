// The allocation figure: experts per layer of several plans side by side (one
// bar group per layer, one colour per plan), as the paper's allocation figure.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe::allocator {

struct FigurePlan {
  std::string label;  // legend text; the plan's total is appended
  v1::Plan plan;
};

// An SVG document. INVALID_ARGUMENT without plans or when a plan has no layers.
absl::StatusOr<std::string> PlansFigureSvg(const std::vector<FigurePlan>& plans, const std::string& title);

// "neuron-guided", "layer-similarity (B=70)", ...: a short label for a plan.
std::string PlanLabel(const v1::Plan& plan);

}  // namespace nmoe::allocator
