// What the strategies allocate from, and where it comes from: the offline files
// of `nmoectl plan compute` (formats in docs/allocation.md and issue 5) or a
// stored profile (v1::ProfileSummary). Errors are INVALID_ARGUMENT and name the
// offending field ("layers[3]: ...").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "allocator/strategies.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe::allocator {

// Selected neurons per layer (layer 0 first) and language: distinct
// (component, index) pairs of the language's selection that lie in the layer.
struct NeuronCountTable {
  std::vector<std::string> high_resource;  // HR (old) languages
  std::vector<std::string> low_resource;   // LR (new) languages
  std::vector<std::map<std::string, uint64_t>> layers;  // holds every HR and LR language
};

// Per layer, the similarity of every new-new and new-old language pair; keys
// are (a, b) with a < b.
struct SimilarityTable {
  std::vector<std::string> new_languages;
  std::vector<std::string> old_languages;
  std::vector<std::map<std::pair<std::string, std::string>, double>> layers;
};

// {"high_resource": ["en"], "low_resource": ["el","hu","tr"],
//  "layers": [{"en": 342, "el": 10, ...}, ...]}: counts are integers >= 0; other
// languages' keys are allowed (ignored) but must be counts too.
absl::StatusOr<NeuronCountTable> ParseNeuronCounts(std::string_view json_text);

// {"new": ["el","hu","tr"], "old": ["en","es","zh"],
//  "layers": [{"el-hu": 0.033, "el-en": 0.024, ...}, ...]}: every new-new and
// new-old pair in every layer, keyed "a-b" in either order (both orders given
// must agree), values finite cosine similarities in [-1, 1].
absl::StatusOr<SimilarityTable> ParseSimilarity(std::string_view json_text);

// From a stored profile: the criterion's per-layer counts (sum of by_component;
// `total` when by_component is empty). A layer a language's profile omits
// counts 0. num_layers 0 = the highest layer present + 1.
absl::StatusOr<NeuronCountTable> NeuronCountsFromSummary(const v1::ProfileSummary& summary,
                                                         v1::NeuronCriterion criterion,
                                                         const std::vector<std::string>& high_resource,
                                                         const std::vector<std::string>& low_resource,
                                                         uint32_t num_layers);
absl::StatusOr<SimilarityTable> SimilarityFromSummary(const v1::ProfileSummary& summary,
                                                      const std::vector<std::string>& new_languages,
                                                      const std::vector<std::string>& old_languages,
                                                      uint32_t num_layers);

// Counts selected neurons (rank > 0 or `selected`) per language and layer by
// distinct (layer, component, index): index 5 of q_proj and index 5 of
// gate_proj are two neurons. Stats of layers >= num_layers are an error.
absl::StatusOr<std::map<std::string, std::vector<uint64_t>>> CountSelectedNeurons(
    const std::vector<v1::NeuronStat>& stats, uint32_t num_layers);

absl::StatusOr<LayerAllocation> AllocateNeuronGuided(const NeuronCountTable& counts, uint32_t max_experts);
absl::StatusOr<LayerAllocation> AllocateLayerSimilarity(const SimilarityTable& similarity, uint32_t budget);

}  // namespace nmoe::allocator
