#include "allocator/strategies.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"

namespace nmoe::allocator {
namespace {

// Counts above this are not neuron counts (and would risk overflow below).
constexpr uint64_t kMaxCount = uint64_t{1} << 40;

absl::Status CheckRow(const std::vector<uint64_t>& row, size_t layer, const char* what, size_t width) {
  if (row.size() != width) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", layer, ": ", row.size(), " ", what,
                                                   " counts, expected ", width));
  }
  for (uint64_t c : row) {
    if (c > kMaxCount) {
      return absl::InvalidArgumentError(absl::StrCat("layer ", layer, ": ", what, " count ", c, " is too large"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LayerAllocation> NeuronGuided(const std::vector<std::vector<uint64_t>>& high,
                                             const std::vector<std::vector<uint64_t>>& low,
                                             uint32_t max_experts) {
  if (max_experts == 0) max_experts = kDefaultMaxExperts;
  if (max_experts < 2) return absl::InvalidArgumentError("max experts (N_max) must be at least 2");
  if (high.empty()) return absl::InvalidArgumentError("no layers");
  if (high.size() != low.size()) {
    return absl::InvalidArgumentError(absl::StrCat(high.size(), " layers of high-resource counts but ",
                                                   low.size(), " of low-resource counts"));
  }
  const size_t num_high = high[0].size(), num_low = low[0].size();
  if (num_high == 0) return absl::InvalidArgumentError("no high-resource language");
  if (num_low == 0) return absl::InvalidArgumentError("no low-resource language");
  // C_l x num_high x num_low, an integer: sum_h x num_low + sum_j x num_high.
  std::vector<uint64_t> scaled(high.size());
  LayerAllocation out;
  for (size_t l = 0; l < high.size(); ++l) {
    if (absl::Status s = CheckRow(high[l], l, "high-resource", num_high); !s.ok()) return s;
    if (absl::Status s = CheckRow(low[l], l, "low-resource", num_low); !s.ok()) return s;
    const uint64_t sum_high = std::accumulate(high[l].begin(), high[l].end(), uint64_t{0});
    const uint64_t sum_low = std::accumulate(low[l].begin(), low[l].end(), uint64_t{0});
    scaled[l] = sum_high * num_low + sum_low * num_high;
    out.scores.push_back(static_cast<double>(sum_high) / static_cast<double>(num_high) +
                         static_cast<double>(sum_low) / static_cast<double>(num_low));
  }
  uint64_t c_min = 0, c_max = 0;
  bool any = false;
  for (uint64_t c : scaled) {
    if (c == 0) continue;
    c_min = any ? std::min(c_min, c) : c;
    c_max = any ? std::max(c_max, c) : c;
    any = true;
  }
  for (uint64_t c : scaled) {
    uint64_t n = 1;
    if (c != 0) {
      n = c_max == c_min ? max_experts : 1 + (c - c_min) * (max_experts - 1) / (c_max - c_min);
      n = std::clamp<uint64_t>(n, 1, max_experts);
    }
    out.experts.push_back(static_cast<uint32_t>(n));
  }
  return out;
}

double LayerSimilarityScore(const std::vector<double>& new_new, const std::vector<double>& new_old) {
  auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  if (new_new.empty()) return mean(new_old);
  return 0.5 * (mean(new_new) + mean(new_old));
}

absl::StatusOr<LayerAllocation> LayerSimilarity(const std::vector<double>& scores, uint32_t budget) {
  if (budget == 0) budget = kDefaultBudget;
  if (scores.empty()) return absl::InvalidArgumentError("no layers");
  std::vector<double> inverse;
  for (size_t l = 0; l < scores.size(); ++l) {
    if (!std::isfinite(scores[l]) || scores[l] <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", l, ": similarity S_l = ", scores[l], " is not a positive number (U_l = 1/S_l)"));
    }
    inverse.push_back(1.0 / scores[l]);
  }
  const double sum = std::accumulate(inverse.begin(), inverse.end(), 0.0);
  LayerAllocation out{{}, scores};
  for (double u : inverse) {
    const double x = u / sum * budget;
    const double nearest = std::round(x);
    const double n = std::abs(x - nearest) <= 1e-9 * std::max(1.0, x) ? nearest : std::ceil(x);
    out.experts.push_back(static_cast<uint32_t>(std::max(1.0, n)));
  }
  return out;
}

absl::StatusOr<LayerAllocation> Uniform(uint32_t num_layers, uint32_t experts) {
  if (num_layers == 0) return absl::InvalidArgumentError("uniform: the number of layers is not known (0)");
  if (experts == 0) return absl::InvalidArgumentError("uniform: experts per layer must be at least 1");
  return LayerAllocation{std::vector<uint32_t>(num_layers, experts), {}};
}

absl::StatusOr<LayerAllocation> Manual(const std::vector<uint32_t>& experts) {
  if (experts.empty()) return absl::InvalidArgumentError("manual: no layers given");
  for (size_t l = 0; l < experts.size(); ++l) {
    if (experts[l] == 0) return absl::InvalidArgumentError(absl::StrCat("manual: layer ", l, " has 0 experts (1 = dense)"));
  }
  return LayerAllocation{experts, {}};
}

absl::StatusOr<std::vector<uint32_t>> ApplyTotalBudget(std::vector<uint32_t> experts,
                                                       const std::vector<double>& priority,
                                                       uint32_t total_budget) {
  if (total_budget == 0) return experts;
  if (total_budget < experts.size()) {
    return absl::InvalidArgumentError(absl::StrCat("total budget ", total_budget, " is below the number of layers (",
                                                   experts.size(), "): every layer keeps its original MLP"));
  }
  uint64_t total = TotalExperts(experts);
  auto prio = [&](size_t l) { return l < priority.size() ? priority[l] : 0.0; };
  while (total > total_budget) {
    size_t pick = 0;
    for (size_t l = 1; l < experts.size(); ++l) {
      if (experts[l] > experts[pick] || (experts[l] == experts[pick] && prio(l) <= prio(pick))) pick = l;
    }
    --experts[pick];
    --total;
  }
  return experts;
}

uint64_t TotalExperts(const std::vector<uint32_t>& experts) {
  return std::accumulate(experts.begin(), experts.end(), uint64_t{0});
}

uint64_t AddedParameters(const std::vector<uint32_t>& experts, uint64_t hidden, uint64_t intermediate) {
  uint64_t added = 0;
  for (uint32_t n : experts) added += (n > 0 ? n - 1 : 0) * 3 * hidden * intermediate;
  return added;
}

}  // namespace nmoe::allocator
