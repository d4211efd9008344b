#include "profiler/average_precision.h"

#include <algorithm>

namespace nmoe::profiler {

double AveragePrecision(std::span<const float> scores, std::span<const uint8_t> labels) {
  std::vector<int32_t> classes(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) classes[i] = labels[i] != 0 ? 1 : 0;
  OneVsRestAp scorer(std::move(classes), 2);
  double ap[2];
  scorer.Score(scores.data(), ap);
  return ap[1];
}

OneVsRestAp::OneVsRestAp(std::vector<int32_t> labels, int32_t num_classes)
    : labels_(std::move(labels)),
      num_classes_(num_classes),
      positives_(static_cast<size_t>(num_classes), 0),
      order_(labels_.size()),
      tp_(static_cast<size_t>(num_classes), 0),
      group_(static_cast<size_t>(num_classes), 0) {
  for (int32_t c : labels_) ++positives_[static_cast<size_t>(c)];
  touched_.reserve(static_cast<size_t>(num_classes));
}

void OneVsRestAp::Score(const float* values, double* ap_out) {
  const size_t n = labels_.size();
  for (size_t i = 0; i < n; ++i) order_[i] = {values[i], labels_[i]};
  std::sort(order_.begin(), order_.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::fill(tp_.begin(), tp_.end(), 0);
  std::fill(ap_out, ap_out + num_classes_, 0.0);
  size_t i = 0;
  while (i < n) {
    // One threshold: every sample with this score.
    size_t j = i;
    touched_.clear();
    while (j < n && order_[j].first == order_[i].first) {
      const int32_t c = order_[j].second;
      if (group_[static_cast<size_t>(c)]++ == 0) touched_.push_back(c);
      ++j;
    }
    const double predicted = static_cast<double>(j);  // samples scored >= threshold
    for (int32_t c : touched_) {
      const size_t k = static_cast<size_t>(c);
      tp_[k] += group_[k];
      // Recall rises by group/P; precision at this threshold is tp/predicted.
      ap_out[c] += (static_cast<double>(group_[k]) / static_cast<double>(positives_[k])) *
                   (static_cast<double>(tp_[k]) / predicted);
      group_[k] = 0;
    }
    i = j;
  }
}

}  // namespace nmoe::profiler
