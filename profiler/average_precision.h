// Average precision of scores at separating one class from the rest, exactly as
// scikit-learn's average_precision_score (step-wise, no interpolation): sort by score
// descending, treat equal scores as one threshold, and sum (R_k - R_{k-1}) * P_k over
// the distinct thresholds k (R_0 = 0). Torch-free.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nmoe::profiler {

// Binary form: labels are 0/1. A set without positives scores 0 (scikit-learn warns
// and returns a meaningless value there). Scores must be finite.
double AveragePrecision(std::span<const float> scores, std::span<const uint8_t> labels);

// One-vs-rest AP of every class for one neuron at a time: `labels[s]` is sentence
// s's class in [0, num_classes). Score() sorts once and fills one AP per class.
// Not thread-safe (scratch buffers); use one scorer per thread.
class OneVsRestAp {
 public:
  OneVsRestAp(std::vector<int32_t> labels, int32_t num_classes);

  // `values` has labels.size() entries, `ap_out` num_classes entries.
  void Score(const float* values, double* ap_out);

  size_t num_samples() const { return labels_.size(); }

 private:
  std::vector<int32_t> labels_;
  int32_t num_classes_;
  std::vector<int64_t> positives_;   // per class
  std::vector<std::pair<float, int32_t>> order_;
  std::vector<int64_t> tp_;          // running true positives per class
  std::vector<int64_t> group_;       // positives of the current tie group per class
  std::vector<int32_t> touched_;     // classes seen in the current group
};

}  // namespace nmoe::profiler
