#include "profiler/profile_results.h"

#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "profiler/figures.h"
#include "profiler/selection.h"

namespace nmoe::profiler {
namespace fs = std::filesystem;
namespace {

v1::Component ToProto(Proj p) { return static_cast<v1::Component>(static_cast<int>(p) + 1); }

// The selected sets of one criterion: [language] -> flat ids in rank order.
struct Selection {
  v1::NeuronCriterion criterion;
  const char* name;
  const std::vector<std::vector<int64_t>>* sets;
};

std::vector<Selection> Selections(const ProfileScores& scores) {
  std::vector<Selection> out;
  if (!scores.ap.empty()) out.push_back({v1::NEURON_CRITERION_AP, "ap", &scores.ap_selected});
  if (scores.lape) out.push_back({v1::NEURON_CRITERION_LAPE, "lape", &scores.lape->selected});
  return out;
}

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("profile: cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

v1::ProfileSummary MakeSummary(const std::string& job_id, const NeuronSpace& space,
                               const std::vector<std::string>& languages, const ProfileScores& scores) {
  v1::ProfileSummary summary;
  summary.set_job_id(job_id);
  for (const Selection& sel : Selections(scores)) {
    for (size_t l = 0; l < languages.size(); ++l) {
      v1::LanguageProfile* lp = summary.add_languages();
      lp->set_language(languages[l]);
      lp->set_criterion(sel.criterion);
      const auto counts = CountPerLayer(space, (*sel.sets)[l]);
      for (size_t layer = 0; layer < counts.size(); ++layer) {
        v1::LayerNeuronCount* c = lp->add_layers();
        c->set_layer(static_cast<uint32_t>(layer));
        uint32_t total = 0;
        for (Proj p : space.projs()) {
          const uint32_t n = counts[layer][static_cast<int>(p)];
          (*c->mutable_by_component())[ProjName(p)] = n;
          total += n;
        }
        c->set_total(total);
      }
    }
  }
  for (size_t layer = 0; layer < scores.similarity.size(); ++layer) {
    v1::LayerSimilarity* s = summary.add_similarities();
    s->set_layer(static_cast<uint32_t>(layer));
    for (const std::string& l : languages) s->add_languages(l);
    for (double v : scores.similarity[layer]) s->add_similarity(v);
  }
  return summary;
}

absl::Status StoreNeuronStats(ResultSink& sink, const std::string& job_id, const NeuronSpace& space,
                              const std::vector<std::string>& languages, const ProfileScores& scores, size_t batch) {
  std::vector<v1::NeuronStat> pending;
  pending.reserve(batch);
  auto flush = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    absl::Status s = sink.PutNeuronStats(pending);
    pending.clear();
    return s;
  };
  for (const Selection& sel : Selections(scores)) {
    for (size_t l = 0; l < languages.size(); ++l) {
      std::vector<uint32_t> rank(static_cast<size_t>(space.size()), 0);
      const auto& set = (*sel.sets)[l];
      for (size_t r = 0; r < set.size(); ++r) rank[static_cast<size_t>(set[r])] = static_cast<uint32_t>(r + 1);
      for (int64_t u = 0; u < space.size(); ++u) {
        const NeuronId id = space.Id(u);
        v1::NeuronStat& st = pending.emplace_back();
        st.set_job_id(job_id);
        st.set_criterion(sel.criterion);
        st.set_language(languages[l]);
        st.set_layer(static_cast<uint32_t>(id.layer));
        st.set_component(ToProto(id.proj));
        st.set_index(static_cast<uint32_t>(id.index));
        const size_t k = static_cast<size_t>(u);
        if (sel.criterion == v1::NEURON_CRITERION_AP) {
          st.set_score(scores.ap[l][k]);
        } else {
          st.set_score(scores.lape->entropy[k]);
          st.set_activation_prob(scores.lape->prob[l][k]);
        }
        st.set_selected(rank[k] > 0);
        st.set_rank(rank[k]);
        if (pending.size() >= batch) {
          if (absl::Status s = flush(); !s.ok()) return s;
        }
      }
    }
  }
  return flush();
}

absl::Status WriteProfileFiles(const fs::path& dir, const NeuronSpace& space, const std::vector<std::string>& languages,
                               const ProfileScores& scores, const v1::ProfileSummary& summary) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("profile: cannot create ", dir.string(), ": ", ec.message()));
  std::vector<std::string> layer_labels;
  for (int32_t l = 0; l < space.num_layers(); ++l) layer_labels.push_back(absl::StrCat(l));
  nlohmann::ordered_json json;
  json["languages"] = languages;
  json["layers"] = space.num_layers();
  std::vector<std::string> comp_names;
  for (Proj p : space.projs()) comp_names.push_back(ProjName(p));
  json["components"] = comp_names;
  for (const Selection& sel : Selections(scores)) {
    std::string selected = "language,rank,layer,component,index,score";
    if (sel.criterion == v1::NEURON_CRITERION_LAPE) selected += ",activation_prob";
    selected += "\n";
    std::string counts_csv = absl::StrCat("language,layer,", absl::StrJoin(comp_names, ","), ",total\n");
    std::vector<Series> by_language;
    std::vector<std::vector<double>> heat(static_cast<size_t>(space.num_layers()), std::vector<double>(languages.size()));
    std::vector<Series> by_component;
    for (Proj p : space.projs()) by_component.push_back({ProjName(p), std::vector<double>(layer_labels.size(), 0)});
    nlohmann::ordered_json crit_json;
    for (size_t l = 0; l < languages.size(); ++l) {
      const auto& set = (*sel.sets)[l];
      for (size_t r = 0; r < set.size(); ++r) {
        const NeuronId id = space.Id(set[r]);
        const size_t k = static_cast<size_t>(set[r]);
        const double score = sel.criterion == v1::NEURON_CRITERION_AP ? scores.ap[l][k] : scores.lape->entropy[k];
        absl::StrAppend(&selected, languages[l], ",", r + 1, ",", id.layer, ",", ProjName(id.proj), ",", id.index, ",",
                        absl::StrFormat("%.9g", score));
        if (sel.criterion == v1::NEURON_CRITERION_LAPE) absl::StrAppend(&selected, ",", absl::StrFormat("%.9g", scores.lape->prob[l][k]));
        selected += "\n";
      }
      const auto counts = CountPerLayer(space, set);
      Series line{languages[l], {}};
      nlohmann::ordered_json layers_json = nlohmann::ordered_json::array();
      for (size_t layer = 0; layer < counts.size(); ++layer) {
        uint32_t total = 0;
        nlohmann::ordered_json per = nlohmann::ordered_json::object();
        absl::StrAppend(&counts_csv, languages[l], ",", layer);
        for (size_t pi = 0; pi < space.projs().size(); ++pi) {
          const uint32_t n = counts[layer][static_cast<int>(space.projs()[pi])];
          absl::StrAppend(&counts_csv, ",", n);
          per[comp_names[pi]] = n;
          total += n;
          by_component[pi].values[layer] += n;
        }
        absl::StrAppend(&counts_csv, ",", total, "\n");
        per["total"] = total;
        layers_json.push_back(per);
        line.values.push_back(total);
        heat[layer][l] = total;
      }
      by_language.push_back(std::move(line));
      crit_json[languages[l]] = layers_json;
    }
    json["counts"][sel.name] = crit_json;
    const std::string upper = sel.criterion == v1::NEURON_CRITERION_AP ? "AP" : "LAPE";
    for (auto [name, text] : std::vector<std::pair<std::string, std::string>>{
             {absl::StrCat("selected_", sel.name, ".csv"), selected},
             {absl::StrCat("counts_", sel.name, ".csv"), counts_csv},
             {absl::StrCat("counts_by_language_", sel.name, ".svg"),
              LineChart({absl::StrCat("Language-specific neurons per layer (", upper, ")"), "layer", "selected neurons"},
                        layer_labels, by_language)},
             {absl::StrCat("counts_by_component_", sel.name, ".svg"),
              StackedBars({absl::StrCat("Selected neurons per layer by component, all languages (", upper, ")"),
                           "layer", "selected neurons"},
                          layer_labels, by_component)},
             {absl::StrCat("heatmap_", sel.name, ".svg"),
              Heatmap({absl::StrCat("Selected neurons: layer x language (", upper, ")"), "language", "layer"},
                      layer_labels, languages, heat)}}) {
      if (absl::Status s = WriteText(dir / name, text); !s.ok()) return s;
    }
  }
  if (!scores.similarity.empty()) {
    const size_t n = languages.size();
    std::string csv = "layer,language_a,language_b,similarity\n";
    std::vector<std::string> pairs;
    std::vector<std::vector<double>> heat(scores.similarity.size());
    nlohmann::ordered_json sims = nlohmann::ordered_json::array();
    for (size_t layer = 0; layer < scores.similarity.size(); ++layer) {
      nlohmann::ordered_json obj = nlohmann::ordered_json::object();
      for (size_t a = 0; a < n; ++a) {
        for (size_t b = 0; b < n; ++b) {
          const double v = scores.similarity[layer][a * n + b];
          absl::StrAppend(&csv, layer, ",", languages[a], ",", languages[b], ",", absl::StrFormat("%.9g", v), "\n");
          if (b <= a) continue;
          obj[absl::StrCat(languages[a], "-", languages[b])] = v;
          if (layer == 0) pairs.push_back(absl::StrCat(languages[a], "-", languages[b]));
          heat[layer].push_back(v);
        }
      }
      sims.push_back(obj);
    }
    json["similarity"] = {{"languages", languages}, {"layers", sims}};
    if (absl::Status s = WriteText(dir / "similarity.csv", csv); !s.ok()) return s;
    const std::string svg = Heatmap({"Layer similarity S_l(a, b): mean cosine of MLP inputs", "language pair", "layer"},
                                    layer_labels, pairs, heat, 3);
    if (absl::Status s = WriteText(dir / "similarity.svg", svg); !s.ok()) return s;
  }
  (void)summary;
  return WriteText(dir / "summary.json", json.dump(2) + "\n");
}

}  // namespace nmoe::profiler
