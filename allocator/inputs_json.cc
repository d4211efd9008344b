// The offline input files of `nmoectl plan compute`.
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "allocator/inputs.h"
#include "common/job_validation.h"
#include "common/status_macros.h"

namespace nmoe::allocator {
namespace {

using Json = nlohmann::json;

absl::Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

const char* TypeName(const Json& j) { return j.type_name(); }

absl::StatusOr<Json> ParseObject(std::string_view text, const std::string& file_kind) {
  Json j;
  try {
    j = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file_kind, " file is not valid JSON: ", e.what()));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file_kind, " file: expected a JSON object, got ", TypeName(j)));
  }
  return j;
}

// A required non-empty array of distinct language codes.
absl::StatusOr<std::vector<std::string>> Languages(const Json& root, const std::string& key) {
  if (!root.contains(key)) return Bad(key, "is missing (a list of language codes)");
  const Json& list = root.at(key);
  if (!list.is_array()) return Bad(key, absl::StrCat("expected an array of language codes, got ", TypeName(list)));
  if (list.empty()) return Bad(key, "is empty");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = absl::StrCat(key, "[", i, "]");
    if (!list[i].is_string()) return Bad(where, absl::StrCat("expected a language code string, got ", TypeName(list[i])));
    const std::string code = list[i].get<std::string>();
    if (!IsLanguageCode(code)) return Bad(where, absl::StrCat("'", code, "' is not a language code like en or pt-BR"));
    if (!seen.insert(code).second) return Bad(where, absl::StrCat("'", code, "' is listed twice"));
    out.push_back(code);
  }
  return out;
}

absl::Status Disjoint(const std::vector<std::string>& a, const std::string& a_key, const std::vector<std::string>& b,
                      const std::string& b_key) {
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (x == y) return Bad(b_key, absl::StrCat("'", x, "' is also in ", a_key));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<const Json*> LayersArray(const Json& root) {
  if (!root.contains("layers")) return Bad("layers", "is missing (one object per layer, layer 0 first)");
  const Json& layers = root.at("layers");
  if (!layers.is_array()) return Bad("layers", absl::StrCat("expected an array of objects, got ", TypeName(layers)));
  if (layers.empty()) return Bad("layers", "is empty");
  for (size_t l = 0; l < layers.size(); ++l) {
    if (!layers[l].is_object()) {
      return Bad(absl::StrCat("layers[", l, "]"), absl::StrCat("expected an object, got ", TypeName(layers[l])));
    }
  }
  return &layers;
}

absl::Status NoUnknownKeys(const Json& root, const std::set<std::string>& known) {
  for (const auto& [key, value] : root.items()) {
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", k);
      return Bad(key, absl::StrCat("unknown key (expected ", list, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NeuronCountTable> ParseNeuronCounts(std::string_view json_text) {
  NMOE_ASSIGN_OR_RETURN(Json root, ParseObject(json_text, "neuron-counts"));
  NMOE_RETURN_IF_ERROR(NoUnknownKeys(root, {"high_resource", "low_resource", "layers"}));
  NeuronCountTable table;
  NMOE_ASSIGN_OR_RETURN(table.high_resource, Languages(root, "high_resource"));
  NMOE_ASSIGN_OR_RETURN(table.low_resource, Languages(root, "low_resource"));
  NMOE_RETURN_IF_ERROR(Disjoint(table.high_resource, "high_resource", table.low_resource, "low_resource"));
  NMOE_ASSIGN_OR_RETURN(const Json* layers, LayersArray(root));
  for (size_t l = 0; l < layers->size(); ++l) {
    const Json& layer = (*layers)[l];
    std::map<std::string, uint64_t> counts;
    for (const auto& [key, value] : layer.items()) {
      const std::string where = absl::StrCat("layers[", l, "].", key);
      if (!value.is_number_integer()) {
        return Bad(where, absl::StrCat("expected a neuron count (an integer >= 0), got ",
                                       value.is_number() ? value.dump() : TypeName(value)));
      }
      if (value.is_number_unsigned()) {
        counts[key] = value.get<uint64_t>();
      } else {
        const int64_t v = value.get<int64_t>();
        if (v < 0) return Bad(where, absl::StrCat("neuron count ", v, " is negative"));
        counts[key] = static_cast<uint64_t>(v);
      }
    }
    for (const auto* list : {&table.high_resource, &table.low_resource}) {
      for (const std::string& lang : *list) {
        if (!counts.count(lang)) return Bad(absl::StrCat("layers[", l, "]"), absl::StrCat("no count for '", lang, "'"));
      }
    }
    table.layers.push_back(std::move(counts));
  }
  return table;
}

absl::StatusOr<SimilarityTable> ParseSimilarity(std::string_view json_text) {
  NMOE_ASSIGN_OR_RETURN(Json root, ParseObject(json_text, "similarity"));
  NMOE_RETURN_IF_ERROR(NoUnknownKeys(root, {"new", "old", "layers"}));
  SimilarityTable table;
  NMOE_ASSIGN_OR_RETURN(table.new_languages, Languages(root, "new"));
  NMOE_ASSIGN_OR_RETURN(table.old_languages, Languages(root, "old"));
  NMOE_RETURN_IF_ERROR(Disjoint(table.new_languages, "new", table.old_languages, "old"));
  NMOE_ASSIGN_OR_RETURN(const Json* layers, LayersArray(root));
  // Every value must be a similarity, whatever its key.
  for (size_t l = 0; l < layers->size(); ++l) {
    for (const auto& [key, value] : (*layers)[l].items()) {
      const std::string where = absl::StrCat("layers[", l, "].", key);
      if (!value.is_number()) return Bad(where, absl::StrCat("expected a number, got ", TypeName(value)));
      const double v = value.get<double>();
      if (!std::isfinite(v) || v < -1 - 1e-9 || v > 1 + 1e-9) {
        return Bad(where, absl::StrCat("similarity ", value.dump(), " is outside [-1, 1]"));
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < table.new_languages.size(); ++i) {
    for (size_t j = i + 1; j < table.new_languages.size(); ++j) pairs.emplace_back(table.new_languages[i], table.new_languages[j]);
    for (const std::string& o : table.old_languages) pairs.emplace_back(table.new_languages[i], o);
  }
  for (size_t l = 0; l < layers->size(); ++l) {
    const Json& layer = (*layers)[l];
    const std::string where = absl::StrCat("layers[", l, "]");
    std::map<std::pair<std::string, std::string>, double> values;
    for (const auto& [a, b] : pairs) {
      const std::string ab = a + "-" + b, ba = b + "-" + a;
      const bool has_ab = layer.contains(ab), has_ba = layer.contains(ba);
      if (!has_ab && !has_ba) return Bad(where, absl::StrCat("no similarity for the pair ", ab, " (key \"", ab, "\" or \"", ba, "\")"));
      const double v = has_ab ? layer.at(ab).get<double>() : layer.at(ba).get<double>();
      if (has_ab && has_ba && std::abs(layer.at(ba).get<double>() - v) > 1e-12) {
        return Bad(where, absl::StrCat("\"", ab, "\" and \"", ba, "\" give different similarities"));
      }
      values[a < b ? std::make_pair(a, b) : std::make_pair(b, a)] = v;
    }
    table.layers.push_back(std::move(values));
  }
  return table;
}

}  // namespace nmoe::allocator
