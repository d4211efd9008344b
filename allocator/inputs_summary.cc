// Allocation inputs from a stored profile, and the strategies over the tables.
#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "allocator/inputs.h"
#include "common/status_macros.h"

namespace nmoe::allocator {
namespace {

v1::NeuronCriterion Effective(v1::NeuronCriterion c) {
  return c == v1::NEURON_CRITERION_UNSPECIFIED ? v1::NEURON_CRITERION_AP : c;
}

const char* CriterionName(v1::NeuronCriterion c) {
  return Effective(c) == v1::NEURON_CRITERION_LAPE ? "lape" : "ap";
}

}  // namespace

absl::StatusOr<NeuronCountTable> NeuronCountsFromSummary(const v1::ProfileSummary& summary,
                                                         v1::NeuronCriterion criterion,
                                                         const std::vector<std::string>& high_resource,
                                                         const std::vector<std::string>& low_resource,
                                                         uint32_t num_layers) {
  if (high_resource.empty()) return absl::InvalidArgumentError("no old (high-resource) languages given");
  if (low_resource.empty()) return absl::InvalidArgumentError("no new (low-resource) languages given");
  // language -> layer -> count, for this criterion.
  std::map<std::string, std::map<uint32_t, uint64_t>> found;
  uint32_t layers_seen = 0;
  for (const v1::LanguageProfile& lp : summary.languages()) {
    if (Effective(lp.criterion()) != Effective(criterion)) continue;
    if (found.count(lp.language())) {
      return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), ": language ", lp.language(),
                                                     " appears twice for criterion ", CriterionName(criterion)));
    }
    auto& per_layer = found[lp.language()];
    for (const v1::LayerNeuronCount& lc : lp.layers()) {
      uint64_t count = 0;
      for (const auto& [component, n] : lc.by_component()) count += n;
      if (lc.by_component().empty()) count = lc.total();
      if (!lc.by_component().empty() && lc.total() != 0 && lc.total() != count) {
        return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), ": language ", lp.language(),
                                                       " layer ", lc.layer(), ": total ", lc.total(),
                                                       " differs from the sum by component ", count));
      }
      if (!per_layer.emplace(lc.layer(), count).second) {
        return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), ": language ", lp.language(),
                                                       " has layer ", lc.layer(), " twice"));
      }
      layers_seen = std::max(layers_seen, lc.layer() + 1);
    }
  }
  for (const auto* list : {&high_resource, &low_resource}) {
    for (const std::string& lang : *list) {
      if (!found.count(lang)) {
        return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " has no ", CriterionName(criterion),
                                                       " neuron counts for language ", lang));
      }
    }
  }
  if (num_layers == 0) num_layers = layers_seen;
  if (layers_seen > num_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("profile ", summary.job_id(), " has layer ", layers_seen - 1, " but the model has ", num_layers));
  }
  if (num_layers == 0) return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " has no layer counts"));
  NeuronCountTable table{high_resource, low_resource, std::vector<std::map<std::string, uint64_t>>(num_layers)};
  for (const auto* list : {&high_resource, &low_resource}) {
    for (const std::string& lang : *list) {
      auto it = found.find(lang);
      if (it == found.end()) {
        return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " has no ", CriterionName(criterion),
                                                       " neuron counts for language ", lang));
      }
      for (uint32_t l = 0; l < num_layers; ++l) {
        auto c = it->second.find(l);
        table.layers[l][lang] = c == it->second.end() ? 0 : c->second;
      }
    }
  }
  return table;
}

absl::StatusOr<SimilarityTable> SimilarityFromSummary(const v1::ProfileSummary& summary,
                                                      const std::vector<std::string>& new_languages,
                                                      const std::vector<std::string>& old_languages,
                                                      uint32_t num_layers) {
  if (new_languages.empty()) return absl::InvalidArgumentError("no new languages given");
  if (old_languages.empty()) return absl::InvalidArgumentError("no old languages given");
  std::map<uint32_t, const v1::LayerSimilarity*> by_layer;
  for (const v1::LayerSimilarity& ls : summary.similarities()) {
    if (!by_layer.emplace(ls.layer(), &ls).second) {
      return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), ": layer ", ls.layer(), " has two similarity tables"));
    }
  }
  if (by_layer.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(),
                                                   " has no layer similarities (profile with layer_similarity: true)"));
  }
  const uint32_t seen = by_layer.rbegin()->first + 1;
  if (num_layers == 0) num_layers = seen;
  SimilarityTable table{new_languages, old_languages, {}};
  for (uint32_t l = 0; l < num_layers; ++l) {
    auto it = by_layer.find(l);
    if (it == by_layer.end()) {
      return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " has no similarities for layer ", l));
    }
    const v1::LayerSimilarity& ls = *it->second;
    const size_t n = ls.languages_size();
    if (static_cast<size_t>(ls.similarity_size()) != n * n) {
      return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " layer ", l, ": ", ls.similarity_size(),
                                                     " similarities for ", n, " languages (expected ", n * n, ")"));
    }
    auto index = [&](const std::string& lang) -> absl::StatusOr<size_t> {
      for (size_t i = 0; i < n; ++i) {
        if (ls.languages(i) == lang) return i;
      }
      return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " layer ", l, " has no similarities for language ", lang));
    };
    std::map<std::pair<std::string, std::string>, double> values;
    auto add = [&](const std::string& a, const std::string& b) -> absl::Status {
      NMOE_ASSIGN_OR_RETURN(size_t i, index(a));
      NMOE_ASSIGN_OR_RETURN(size_t j, index(b));
      const double v = ls.similarity(i * n + j);
      if (!std::isfinite(v) || std::abs(v - ls.similarity(j * n + i)) > 1e-6) {
        return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " layer ", l, ": similarity of ", a, "-", b,
                                                       " is not finite or not symmetric"));
      }
      values[a < b ? std::make_pair(a, b) : std::make_pair(b, a)] = v;
      return absl::OkStatus();
    };
    for (size_t i = 0; i < new_languages.size(); ++i) {
      for (size_t j = i + 1; j < new_languages.size(); ++j) NMOE_RETURN_IF_ERROR(add(new_languages[i], new_languages[j]));
      for (const std::string& o : old_languages) NMOE_RETURN_IF_ERROR(add(new_languages[i], o));
    }
    table.layers.push_back(std::move(values));
  }
  if (seen > num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("profile ", summary.job_id(), " has similarities for layer ", seen - 1,
                                                   " but the model has ", num_layers, " layers"));
  }
  return table;
}

absl::StatusOr<std::map<std::string, std::vector<uint64_t>>> CountSelectedNeurons(
    const std::vector<v1::NeuronStat>& stats, uint32_t num_layers) {
  std::map<std::string, std::set<std::tuple<uint32_t, int, uint32_t>>> neurons;
  for (const v1::NeuronStat& s : stats) {
    if (!s.selected() && s.rank() == 0) continue;
    if (s.layer() >= num_layers) {
      return absl::InvalidArgumentError(absl::StrCat("neuron of ", s.language(), " in layer ", s.layer(), " but the model has ",
                                                     num_layers, " layers"));
    }
    if (s.component() == v1::COMPONENT_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("neuron of ", s.language(), " in layer ", s.layer(), " has no component"));
    }
    neurons[s.language()].emplace(s.layer(), static_cast<int>(s.component()), s.index());
  }
  std::map<std::string, std::vector<uint64_t>> counts;
  for (const auto& [lang, set] : neurons) {
    std::vector<uint64_t>& per_layer = counts[lang];
    per_layer.assign(num_layers, 0);
    for (const auto& [layer, component, index] : set) ++per_layer[layer];
  }
  return counts;
}

absl::StatusOr<LayerAllocation> AllocateNeuronGuided(const NeuronCountTable& counts, uint32_t max_experts) {
  std::vector<std::vector<uint64_t>> high, low;
  for (const auto& layer : counts.layers) {
    std::vector<uint64_t> h, w;
    for (const auto& lang : counts.high_resource) h.push_back(layer.at(lang));
    for (const auto& lang : counts.low_resource) w.push_back(layer.at(lang));
    high.push_back(std::move(h));
    low.push_back(std::move(w));
  }
  return NeuronGuided(high, low, max_experts);
}

absl::StatusOr<LayerAllocation> AllocateLayerSimilarity(const SimilarityTable& similarity, uint32_t budget) {
  const std::set<std::string> fresh(similarity.new_languages.begin(), similarity.new_languages.end());
  std::vector<double> scores;
  for (const auto& layer : similarity.layers) {
    std::vector<double> new_new, new_old;
    for (const auto& [pair, value] : layer) {
      (fresh.count(pair.first) && fresh.count(pair.second) ? new_new : new_old).push_back(value);
    }
    scores.push_back(LayerSimilarityScore(new_new, new_old));
  }
  return LayerSimilarity(scores, budget);
}

}  // namespace nmoe::allocator
