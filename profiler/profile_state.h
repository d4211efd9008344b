// What profiling accumulates, as plain arrays with merge operations: the seam where a
// gang of workers combines partial results (comm/ wires it: LapeCounts and
// SimilaritySums all-reduce by element-wise sum; ResponseRows of one neuron range
// gather by concatenation, i.e. a neuron-sharded all-to-all). Merging the states of
// any split of the sentences gives the state of the unsplit run. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace nmoe::profiler {

// LAPE: tokens where a neuron's output is > 0, per language.
struct LapeCounts {
  int64_t num_neurons = 0;
  std::vector<std::vector<uint64_t>> counts;  // [language][neuron]
  std::vector<uint64_t> tokens;               // [language]: real (non-padding) tokens

  void Init(size_t languages, int64_t neurons);
  // Element-wise sum; INVALID_ARGUMENT for different shapes.
  absl::Status Merge(const LapeCounts& other);
};

// LayerMoE: per layer and language, the sum of unit-normalised MLP-input vectors and
// their count. S_l(a, b) = (sum_a / n_a) . (sum_b / n_b), the mean cosine similarity
// over all token pairs of a and b (METHOD.md step 2).
struct SimilaritySums {
  int64_t num_layers = 0, num_languages = 0, hidden = 0;
  std::vector<double> sums;       // [layer][language][hidden]
  std::vector<uint64_t> tokens;   // [layer][language]

  void Init(int64_t layers, int64_t languages, int64_t hidden_size);
  double* Sum(int64_t layer, int64_t language) {
    return sums.data() + (layer * num_languages + language) * hidden;
  }
  const double* Sum(int64_t layer, int64_t language) const {
    return sums.data() + (layer * num_languages + language) * hidden;
  }
  uint64_t& Tokens(int64_t layer, int64_t language) { return tokens[static_cast<size_t>(layer * num_languages + language)]; }
  uint64_t Tokens(int64_t layer, int64_t language) const {
    return tokens[static_cast<size_t>(layer * num_languages + language)];
  }
  // S_l(a, b); 0 when either language has no token.
  double Similarity(int64_t layer, int64_t a, int64_t b) const;
  absl::Status Merge(const SimilaritySums& other);
};

// AP: per-sentence mean responses of the neurons [neuron_begin, neuron_end).
struct ResponseRows {
  int64_t neuron_begin = 0, neuron_end = 0;
  std::vector<int64_t> sentence_ids;  // global sentence numbers (the row order key)
  std::vector<int32_t> labels;        // language index per row
  std::vector<float> values;          // [row][neuron - neuron_begin]

  int64_t width() const { return neuron_end - neuron_begin; }
  size_t rows() const { return sentence_ids.size(); }
  // Appends other's rows and orders all rows by sentence id. INVALID_ARGUMENT for
  // another neuron range or a sentence id present in both.
  absl::Status Merge(ResponseRows other);
};

}  // namespace nmoe::profiler
