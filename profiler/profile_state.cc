#include "profiler/profile_state.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace nmoe::profiler {

void LapeCounts::Init(size_t languages, int64_t neurons) {
  num_neurons = neurons;
  counts.assign(languages, std::vector<uint64_t>(static_cast<size_t>(neurons), 0));
  tokens.assign(languages, 0);
}

absl::Status LapeCounts::Merge(const LapeCounts& other) {
  if (other.num_neurons != num_neurons || other.counts.size() != counts.size()) {
    return absl::InvalidArgumentError(absl::StrCat("lape counts: cannot merge ", other.counts.size(), "x",
                                                   other.num_neurons, " into ", counts.size(), "x", num_neurons));
  }
  for (size_t l = 0; l < counts.size(); ++l) {
    for (size_t u = 0; u < counts[l].size(); ++u) counts[l][u] += other.counts[l][u];
    tokens[l] += other.tokens[l];
  }
  return absl::OkStatus();
}

void SimilaritySums::Init(int64_t layers, int64_t languages, int64_t hidden_size) {
  num_layers = layers;
  num_languages = languages;
  hidden = hidden_size;
  sums.assign(static_cast<size_t>(layers * languages * hidden_size), 0.0);
  tokens.assign(static_cast<size_t>(layers * languages), 0);
}

double SimilaritySums::Similarity(int64_t layer, int64_t a, int64_t b) const {
  const uint64_t na = Tokens(layer, a), nb = Tokens(layer, b);
  if (na == 0 || nb == 0) return 0;
  const double* x = Sum(layer, a);
  const double* y = Sum(layer, b);
  double dot = 0;
  for (int64_t i = 0; i < hidden; ++i) dot += x[i] * y[i];
  return dot / (static_cast<double>(na) * static_cast<double>(nb));
}

absl::Status SimilaritySums::Merge(const SimilaritySums& other) {
  if (other.num_layers != num_layers || other.num_languages != num_languages || other.hidden != hidden) {
    return absl::InvalidArgumentError("similarity sums: cannot merge states of different shapes");
  }
  for (size_t i = 0; i < sums.size(); ++i) sums[i] += other.sums[i];
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] += other.tokens[i];
  return absl::OkStatus();
}

absl::Status ResponseRows::Merge(ResponseRows other) {
  if (other.neuron_begin != neuron_begin || other.neuron_end != neuron_end) {
    return absl::InvalidArgumentError(absl::StrCat("responses: cannot merge neurons [", other.neuron_begin, ", ",
                                                   other.neuron_end, ") into [", neuron_begin, ", ", neuron_end, ")"));
  }
  const size_t w = static_cast<size_t>(width());
  const size_t n = rows() + other.rows();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto id = [&](size_t r) { return r < rows() ? sentence_ids[r] : other.sentence_ids[r - rows()]; };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return id(a) < id(b); });
  for (size_t i = 1; i < n; ++i) {
    if (id(order[i]) == id(order[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat("responses: sentence ", id(order[i]), " is in both states"));
    }
  }
  ResponseRows out;
  out.neuron_begin = neuron_begin;
  out.neuron_end = neuron_end;
  out.sentence_ids.reserve(n);
  out.labels.reserve(n);
  out.values.resize(n * w);
  for (size_t i = 0; i < n; ++i) {
    const size_t r = order[i];
    const bool mine = r < rows();
    const size_t k = mine ? r : r - rows();
    out.sentence_ids.push_back(mine ? sentence_ids[k] : other.sentence_ids[k]);
    out.labels.push_back(mine ? labels[k] : other.labels[k]);
    const float* src = (mine ? values.data() : other.values.data()) + k * w;
    std::copy(src, src + w, out.values.begin() + static_cast<std::ptrdiff_t>(i * w));
  }
  *this = std::move(out);
  return absl::OkStatus();
}

}  // namespace nmoe::profiler
