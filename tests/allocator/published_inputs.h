// Inputs consistent with the two published Llama-3.2-3B allocations (METHOD.md
// step 2), as the offline JSON files of `nmoectl plan compute` and as a stored
// ProfileSummary. Shared by the allocator's unit, task and command-line tests.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nmoe/v1/results_service.pb.h"

namespace nmoe::allocator::testing {

// NeuronMoE, N_max = 6: 6,2,1,...,1,2,1,1,1,1,4,1,4,2,2,4,4 (49).
inline const std::vector<uint32_t> kNeuronMoE = {6, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                 1, 1, 2, 1, 1, 1, 1, 4, 1, 4, 2, 2, 4, 4};
// LayerMoE, B = 70: METHOD.md gives 5,5,5,4,3,3,2,...,3,3,3,3,3,4,4,4,4,4 (84);
// with 28 layers the elided middle (layers 7-17) sums to 84 - 62 = 22: eleven 2s.
inline const std::vector<uint32_t> kLayerMoE = {5, 5, 5, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2,
                                                2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4};

// Per layer {en, el, hu, tr} selected neurons. C_l = en + mean(el, hu, tr);
// C_min = 10 (layer 5), C_max = 410 (layer 0), so n = 1 + floor((C - 10) / 80):
// n = 2 for C in [90, 170), 4 for [250, 330). Layers 16 (C = 90) and 23
// (C = 250) sit exactly on a boundary; layer 9 is empty; layer 12 has C = 88.67.
inline const std::vector<std::vector<uint64_t>> kNeuronCounts = {
    {342, 60, 70, 74}, {100, 30, 36, 33}, {20, 5, 3, 4},   {20, 5, 3, 4},   {15, 2, 2, 2},  {8, 2, 2, 2},
    {40, 10, 5, 0},    {20, 5, 3, 4},     {20, 5, 3, 4},   {0, 0, 0, 0},    {30, 6, 6, 6},  {50, 20, 10, 0},
    {80, 9, 9, 8},     {20, 5, 3, 4},     {20, 5, 3, 4},   {20, 5, 3, 4},   {80, 10, 10, 10}, {20, 5, 3, 4},
    {25, 5, 5, 5},     {20, 5, 3, 4},     {60, 3, 3, 3},   {250, 40, 50, 60}, {30, 10, 10, 10}, {220, 30, 30, 30},
    {150, 10, 11, 12}, {140, 20, 20, 20}, {280, 40, 45, 50}, {300, 20, 21, 22}};
inline const std::vector<std::string> kCountLanguages = {"en", "el", "hu", "tr"};

inline std::string NeuronCountsJson() {
  nlohmann::ordered_json j;
  j["high_resource"] = {"en"};
  j["low_resource"] = {"el", "hu", "tr"};
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& row : kNeuronCounts) {
    nlohmann::ordered_json layer;
    for (size_t i = 0; i < row.size(); ++i) layer[kCountLanguages[i]] = row[i];
    layer["de"] = 7;  // a profiled language the allocation does not use
    j["layers"].push_back(layer);
  }
  return j.dump(1);
}

inline const std::vector<std::string> kNew = {"el", "hu", "tr"};
inline const std::vector<std::string> kOld = {"en", "es", "zh"};

// S_l = 0.5 / (N_l - 1/2): then U_l / sum U x 70 = N_l - 1/2 (the fractions sum
// to 84 - 28/2 = 70), so ceil gives N_l, half an expert from either boundary.
inline double TargetScore(size_t layer) { return 0.5 / (kLayerMoE[layer] - 0.5); }

// Pairwise similarities with S_l = 1/2 [mean new-new + mean new-old]: new-new
// pairs at S_l + 0.01 (+-0.004), new-old pairs at S_l - 0.01 (+-0.002).
inline double PairSimilarity(size_t layer, const std::string& a, const std::string& b) {
  const double s = TargetScore(layer);
  auto is_new = [](const std::string& x) { return x == "el" || x == "hu" || x == "tr"; };
  if (is_new(a) && is_new(b)) {
    const std::string k = a < b ? a + b : b + a;
    return s + 0.01 + (k == "elhu" ? 0.004 : k == "eltr" ? -0.004 : 0.0);
  }
  const std::string o = is_new(a) ? b : a;
  return s - 0.01 + (o == "en" ? 0.002 : o == "es" ? -0.002 : 0.0);
}

// Keys in both orders across layers ("el-hu" in even layers, "hu-el" in odd).
inline std::string SimilarityJson() {
  nlohmann::ordered_json j;
  j["new"] = kNew;
  j["old"] = kOld;
  j["layers"] = nlohmann::ordered_json::array();
  for (size_t l = 0; l < kLayerMoE.size(); ++l) {
    nlohmann::ordered_json layer;
    for (size_t i = 0; i < kNew.size(); ++i) {
      for (size_t k = i + 1; k < kNew.size(); ++k) {
        const std::string key = l % 2 == 0 ? kNew[i] + "-" + kNew[k] : kNew[k] + "-" + kNew[i];
        layer[key] = PairSimilarity(l, kNew[i], kNew[k]);
      }
      for (const auto& o : kOld) layer[l % 2 == 0 ? kNew[i] + "-" + o : o + "-" + kNew[i]] = PairSimilarity(l, kNew[i], o);
    }
    layer["en-es"] = 0.9;  // an old-old pair: not part of S_l
    j["layers"].push_back(layer);
  }
  return j.dump(1);
}

// Both inputs as one stored profile: AP counts split over components (the
// per-layer totals are the counts above) and full similarity matrices.
inline v1::ProfileSummary PublishedProfile(const std::string& job_id) {
  v1::ProfileSummary summary;
  summary.set_job_id(job_id);
  for (size_t i = 0; i < kCountLanguages.size(); ++i) {
    v1::LanguageProfile* lp = summary.add_languages();
    lp->set_language(kCountLanguages[i]);
    lp->set_criterion(v1::NEURON_CRITERION_AP);
    for (size_t l = 0; l < kNeuronCounts.size(); ++l) {
      const uint64_t total = kNeuronCounts[l][i];
      if (total == 0 && l == 9) continue;  // an empty layer may be omitted
      v1::LayerNeuronCount* lc = lp->add_layers();
      lc->set_layer(static_cast<uint32_t>(l));
      (*lc->mutable_by_component())["q_proj"] = static_cast<uint32_t>(total / 3);
      (*lc->mutable_by_component())["gate_proj"] = static_cast<uint32_t>(total - total / 3);
      lc->set_total(static_cast<uint32_t>(total));
    }
  }
  std::vector<std::string> langs = {"en", "es", "zh", "el", "hu", "tr"};
  for (size_t l = 0; l < kLayerMoE.size(); ++l) {
    v1::LayerSimilarity* ls = summary.add_similarities();
    ls->set_layer(static_cast<uint32_t>(l));
    for (const auto& a : langs) ls->add_languages(a);
    for (const auto& a : langs) {
      for (const auto& b : langs) ls->add_similarity(a == b ? 1.0 : PairSimilarity(l, a, b));
    }
  }
  return summary;
}

}  // namespace nmoe::allocator::testing
