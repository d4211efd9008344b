#include "profiler/selection.h"

#include <algorithm>
#include <numeric>

namespace nmoe::profiler {

std::vector<int64_t> TopN(const std::vector<double>& scores, int64_t n) {
  std::vector<int64_t> ids(scores.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t k = static_cast<size_t>(std::clamp<int64_t>(n, 0, static_cast<int64_t>(ids.size())));
  auto better = [&](int64_t a, int64_t b) {
    const double sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
    return sa != sb ? sa > sb : a < b;
  };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), better);
  ids.resize(k);
  return ids;
}

std::vector<std::array<uint32_t, kNumProjs>> CountPerLayer(const NeuronSpace& space,
                                                            const std::vector<int64_t>& selected) {
  std::vector<std::array<uint32_t, kNumProjs>> counts(static_cast<size_t>(space.num_layers()));
  for (auto& c : counts) c.fill(0);
  for (int64_t flat : selected) {
    const NeuronId id = space.Id(flat);
    ++counts[static_cast<size_t>(id.layer)][static_cast<int>(id.proj)];
  }
  return counts;
}

}  // namespace nmoe::profiler
