#include "profiler/lape.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace nmoe::profiler {

absl::StatusOr<LapeResult> ScoreLape(const std::vector<std::vector<uint64_t>>& counts,
                                     const std::vector<uint64_t>& tokens, const LapeOptions& options) {
  const size_t langs = counts.size();
  if (langs == 0 || tokens.size() != langs) {
    return absl::InvalidArgumentError(absl::StrCat("lape: ", langs, " count rows for ", tokens.size(), " token totals"));
  }
  const size_t n = counts[0].size();
  for (const auto& row : counts) {
    if (row.size() != n) return absl::InvalidArgumentError("lape: count rows of different lengths");
  }
  if (!(options.percentile > 0 && options.percentile <= 100) ||
      !(options.top_fraction > 0 && options.top_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("lape: percentile ", options.percentile, " or top fraction ",
                                                   options.top_fraction, " out of range"));
  }
  LapeResult r;
  r.prob.resize(langs);
  for (auto& row : r.prob) row.resize(n, 0.0);
  for (size_t l = 0; l < langs; ++l) {
    if (tokens[l] == 0) continue;
    for (size_t u = 0; u < n; ++u) {
      r.prob[l][u] = static_cast<double>(counts[l][u]) / static_cast<double>(tokens[l]);
    }
  }
  if (n == 0) {
    r.selected.assign(langs, {});
    return r;
  }
  // Threshold: the k-th smallest of all p.
  {
    std::vector<double> all(langs * n);
    for (size_t l = 0; l < langs; ++l) std::copy(r.prob[l].begin(), r.prob[l].end(), all.begin() + static_cast<std::ptrdiff_t>(l * n));
    const double total = static_cast<double>(all.size());
    int64_t k = std::llround(total * options.percentile / 100.0);
    k = std::clamp<int64_t>(k, 1, static_cast<int64_t>(all.size()));
    std::nth_element(all.begin(), all.begin() + (k - 1), all.end());
    r.threshold = all[static_cast<size_t>(k - 1)];
  }
  r.entropy.assign(n, std::numeric_limits<double>::infinity());
  for (size_t u = 0; u < n; ++u) {
    double sum = 0;
    bool above = false;
    for (size_t l = 0; l < langs; ++l) {
      sum += r.prob[l][u];
      above = above || r.prob[l][u] > r.threshold;
    }
    if (!above || sum <= 0) continue;
    double h = 0;
    for (size_t l = 0; l < langs; ++l) {
      const double q = r.prob[l][u] / sum;
      if (q > 0) h -= q * std::log(q);
    }
    r.entropy[u] = h;
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const int64_t want = std::llround(static_cast<double>(n) * options.top_fraction);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return r.entropy[static_cast<size_t>(a)] < r.entropy[static_cast<size_t>(b)]; });
  r.selected.assign(langs, {});
  for (int64_t i = 0; i < want && i < static_cast<int64_t>(n); ++i) {
    const size_t u = static_cast<size_t>(order[static_cast<size_t>(i)]);
    if (!std::isfinite(r.entropy[u])) break;
    ++r.selected_neurons;
    for (size_t l = 0; l < langs; ++l) {
      if (r.prob[l][u] > r.threshold) r.selected[l].push_back(static_cast<int64_t>(u));
    }
  }
  return r;
}

}  // namespace nmoe::profiler
