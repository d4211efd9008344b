// config.json <-> ModelConfig. Field names, defaults and accepted forms follow
// transformers' LlamaConfig and Qwen2Config (v4.4x-v4.5x; "dtype" and "rope_parameters"
// of later versions are read too).
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/config.h"
#include "nlohmann/json.hpp"

namespace nmoe::model {
namespace {

using Json = nlohmann::ordered_json;

// Reads fields of one JSON object and remembers which keys were used.
class FieldReader {
 public:
  FieldReader(const Json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  bool Has(const std::string& key) {
    consumed_.insert(key);
    return obj_.contains(key) && !obj_.at(key).is_null();
  }
  absl::StatusOr<int64_t> Int(const std::string& key, std::optional<int64_t> fallback) {
    if (!Has(key)) {
      if (fallback) return *fallback;
      return absl::InvalidArgumentError(absl::StrCat("config: missing required field '", prefix_, key, "'"));
    }
    return AsInt(obj_.at(key), key);
  }
  absl::StatusOr<int64_t> AsInt(const Json& v, const std::string& key) const {
    if (!v.is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: field '", prefix_, key, "' must be an integer, got ", v.dump()));
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return absl::InvalidArgumentError(absl::StrCat("config: field '", prefix_, key, "' is too large"));
    }
    return v.get<int64_t>();
  }
  absl::StatusOr<double> Real(const std::string& key, std::optional<double> fallback) {
    if (!Has(key)) {
      if (fallback) return *fallback;
      return absl::InvalidArgumentError(absl::StrCat("config: missing required field '", prefix_, key, "'"));
    }
    const Json& v = obj_.at(key);
    if (!v.is_number()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: field '", prefix_, key, "' must be a number, got ", v.dump()));
    }
    return v.get<double>();
  }
  absl::StatusOr<bool> Bool(const std::string& key, bool fallback) {
    if (!Has(key)) return fallback;
    const Json& v = obj_.at(key);
    if (!v.is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: field '", prefix_, key, "' must be true or false, got ", v.dump()));
    }
    return v.get<bool>();
  }
  absl::StatusOr<std::string> String(const std::string& key, std::optional<std::string> fallback) {
    if (!Has(key)) {
      if (fallback) return *fallback;
      return absl::InvalidArgumentError(absl::StrCat("config: missing required field '", prefix_, key, "'"));
    }
    const Json& v = obj_.at(key);
    if (!v.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: field '", prefix_, key, "' must be a string, got ", v.dump()));
    }
    return v.get<std::string>();
  }
  // Token ids: an int, a list of ints, or null/absent.
  absl::StatusOr<std::vector<int64_t>> IntList(const std::string& key) {
    std::vector<int64_t> out;
    if (!Has(key)) return out;
    const Json& v = obj_.at(key);
    if (v.is_array()) {
      for (const Json& e : v) {
        NMOE_ASSIGN_OR_RETURN(int64_t id, AsInt(e, key));
        out.push_back(id);
      }
      return out;
    }
    NMOE_ASSIGN_OR_RETURN(int64_t id, AsInt(v, key));
    out.push_back(id);
    return out;
  }
  // The keys never asked for, in file order.
  Json Unconsumed() const {
    Json extra = Json::object();
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (!consumed_.count(it.key())) extra[it.key()] = it.value();
    }
    return extra;
  }

 private:
  const Json& obj_;
  std::string prefix_;
  std::set<std::string> consumed_;
};

// rope_scaling (or v5's rope_parameters) object: null, "default" or "llama3".
absl::StatusOr<std::optional<Llama3RopeScaling>> ParseRope(const Json& obj, const std::string& name,
                                                           double* rope_theta) {
  if (!obj.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("config: '", name, "' must be an object or null"));
  }
  FieldReader r(obj, name + ".");
  std::string type;
  if (r.Has("rope_type")) {
    NMOE_ASSIGN_OR_RETURN(type, r.String("rope_type", std::nullopt));
  } else {
    NMOE_ASSIGN_OR_RETURN(type, r.String("type", std::string("default")));
  }
  if (r.Has("rope_theta")) {
    NMOE_ASSIGN_OR_RETURN(*rope_theta, r.Real("rope_theta", std::nullopt));
  }
  if (type == "default") return std::optional<Llama3RopeScaling>();
  if (type != "llama3") {
    return absl::UnimplementedError(absl::StrCat("config: ", name, " type '", type,
                                                 "' is not supported (supported: llama3, default)"));
  }
  Llama3RopeScaling s;
  NMOE_ASSIGN_OR_RETURN(s.factor, r.Real("factor", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(s.low_freq_factor, r.Real("low_freq_factor", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(s.high_freq_factor, r.Real("high_freq_factor", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(s.original_max_position_embeddings,
                        r.Int("original_max_position_embeddings", std::nullopt));
  return std::optional<Llama3RopeScaling>(s);
}

absl::StatusOr<ModelConfig> ParseObject(const Json& root) {
  if (!root.is_object()) return absl::InvalidArgumentError("config: config.json must hold a JSON object");
  FieldReader r(root, "");
  ModelConfig c;
  NMOE_ASSIGN_OR_RETURN(std::string type, r.String("model_type", std::nullopt));
  if (type == "llama") {
    c.architecture = Architecture::kLlama;
  } else if (type == "qwen2") {
    c.architecture = Architecture::kQwen2;
  } else {
    return absl::UnimplementedError(
        absl::StrCat("config: model_type '", type, "' is not supported (supported: llama, qwen2)"));
  }
  const bool llama = c.architecture == Architecture::kLlama;
  r.Has("architectures");  // rewritten from model_type on save
  NMOE_ASSIGN_OR_RETURN(c.hidden_size, r.Int("hidden_size", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(c.intermediate_size, r.Int("intermediate_size", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(c.num_hidden_layers, r.Int("num_hidden_layers", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(c.num_attention_heads, r.Int("num_attention_heads", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(c.num_key_value_heads, r.Int("num_key_value_heads", c.num_attention_heads));
  if (!r.Has("head_dim") && c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: hidden_size (", c.hidden_size, ") is not divisible by num_attention_heads (",
                     c.num_attention_heads, ") and head_dim is not given"));
  }
  const int64_t default_head_dim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;
  NMOE_ASSIGN_OR_RETURN(c.head_dim, r.Int("head_dim", default_head_dim));
  NMOE_ASSIGN_OR_RETURN(c.vocab_size, r.Int("vocab_size", std::nullopt));
  NMOE_ASSIGN_OR_RETURN(c.max_position_embeddings,
                        r.Int("max_position_embeddings", llama ? int64_t{2048} : int64_t{32768}));
  NMOE_ASSIGN_OR_RETURN(c.rms_norm_eps, r.Real("rms_norm_eps", 1e-6));
  NMOE_ASSIGN_OR_RETURN(c.rope_theta, r.Real("rope_theta", 10000.0));
  if (r.Has("rope_scaling")) {
    NMOE_ASSIGN_OR_RETURN(c.rope_scaling, ParseRope(root.at("rope_scaling"), "rope_scaling", &c.rope_theta));
  } else if (r.Has("rope_parameters")) {
    NMOE_ASSIGN_OR_RETURN(c.rope_scaling,
                          ParseRope(root.at("rope_parameters"), "rope_parameters", &c.rope_theta));
  }
  NMOE_ASSIGN_OR_RETURN(c.tie_word_embeddings, r.Bool("tie_word_embeddings", false));
  if (llama) {
    NMOE_ASSIGN_OR_RETURN(c.attention_bias, r.Bool("attention_bias", false));
    NMOE_ASSIGN_OR_RETURN(c.mlp_bias, r.Bool("mlp_bias", false));
  } else {
    NMOE_ASSIGN_OR_RETURN(bool sliding, r.Bool("use_sliding_window", false));
    if (sliding) {
      return absl::UnimplementedError("config: use_sliding_window = true is not supported");
    }
  }
  NMOE_ASSIGN_OR_RETURN(std::string act, r.String("hidden_act", std::string("silu")));
  if (act != "silu" && act != "swish") {
    return absl::UnimplementedError(
        absl::StrCat("config: hidden_act '", act, "' is not supported (supported: silu)"));
  }
  NMOE_ASSIGN_OR_RETURN(c.initializer_range, r.Real("initializer_range", 0.02));
  const bool has_new_dtype = r.Has("dtype");  // transformers v5 name; torch_dtype wins
  if (r.Has("torch_dtype") || !has_new_dtype) {
    NMOE_ASSIGN_OR_RETURN(c.torch_dtype, r.String("torch_dtype", std::string("float32")));
  } else {
    NMOE_ASSIGN_OR_RETURN(c.torch_dtype, r.String("dtype", std::nullopt));
  }
  NMOE_ASSIGN_OR_RETURN(std::vector<int64_t> bos, r.IntList("bos_token_id"));
  if (bos.size() > 1) return absl::InvalidArgumentError("config: bos_token_id must be a single id");
  if (!bos.empty()) c.bos_token_id = bos[0];
  NMOE_ASSIGN_OR_RETURN(c.eos_token_ids, r.IntList("eos_token_id"));
  NMOE_ASSIGN_OR_RETURN(std::vector<int64_t> pad, r.IntList("pad_token_id"));
  if (pad.size() > 1) return absl::InvalidArgumentError("config: pad_token_id must be a single id");
  if (!pad.empty()) c.pad_token_id = pad[0];
  NMOE_ASSIGN_OR_RETURN(c.experts_per_layer, r.IntList("nmoe_experts_per_layer"));
  if (!c.experts_per_layer.empty()) {
    if (!root.at("nmoe_experts_per_layer").is_array()) {
      return absl::InvalidArgumentError("config: field 'nmoe_experts_per_layer' must be a list of integers");
    }
    NMOE_ASSIGN_OR_RETURN(c.num_experts_per_tok, r.Int("num_experts_per_tok", int64_t{2}));
  }
  NMOE_ASSIGN_OR_RETURN(c.classifier_layers, r.IntList("nmoe_classifier_layers"));
  if (!c.classifier_layers.empty() && !root.at("nmoe_classifier_layers").is_array()) {
    return absl::InvalidArgumentError("config: field 'nmoe_classifier_layers' must be a list of integers");
  }
  c.extra_json = r.Unconsumed().dump();
  NMOE_RETURN_IF_ERROR(ValidateModelConfig(c));
  return c;
}

}  // namespace

absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: not valid JSON: ", e.what()));
  }
  try {
    return ParseObject(root);
  } catch (const Json::exception& e) {  // defensive: type errors the reader did not catch
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("config: cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseModelConfig(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(), absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

absl::StatusOr<std::string> ModelConfigToJson(const ModelConfig& c) {
  NMOE_RETURN_IF_ERROR(ValidateModelConfig(c));
  const bool llama = c.architecture == Architecture::kLlama;
  Json j = Json::object();
  j["architectures"] = Json::array({llama ? "LlamaForCausalLM" : "Qwen2ForCausalLM"});
  j["model_type"] = ArchitectureName(c.architecture);
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_scaling->factor},
                         {"low_freq_factor", c.rope_scaling->low_freq_factor},
                         {"high_freq_factor", c.rope_scaling->high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling->original_max_position_embeddings}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (llama) {
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = c.mlp_bias;
  } else {
    j["use_sliding_window"] = false;
  }
  j["hidden_act"] = "silu";
  j["initializer_range"] = c.initializer_range;
  j["torch_dtype"] = c.torch_dtype;
  j["bos_token_id"] = c.bos_token_id ? Json(*c.bos_token_id) : Json(nullptr);
  if (c.eos_token_ids.size() == 1) {
    j["eos_token_id"] = c.eos_token_ids[0];
  } else if (c.eos_token_ids.empty()) {
    j["eos_token_id"] = nullptr;
  } else {
    j["eos_token_id"] = c.eos_token_ids;
  }
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (!c.experts_per_layer.empty()) {
    j["nmoe_experts_per_layer"] = c.experts_per_layer;
    j["num_experts_per_tok"] = c.num_experts_per_tok;
  }
  if (!c.classifier_layers.empty()) j["nmoe_classifier_layers"] = c.classifier_layers;
  Json extra;
  try {
    extra = Json::parse(c.extra_json.empty() ? "{}" : c.extra_json);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: extra_json is not valid JSON: ", e.what()));
  }
  if (!extra.is_object()) return absl::InvalidArgumentError("config: extra_json must be a JSON object");
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (!j.contains(it.key())) j[it.key()] = it.value();  // typed fields win
  }
  return j.dump(2) + "\n";
}

absl::Status SaveModelConfig(const ModelConfig& config, const std::string& path) {
  NMOE_ASSIGN_OR_RETURN(std::string text, ModelConfigToJson(config));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("config: cannot write ", path));
  return absl::OkStatus();
}

}  // namespace nmoe::model
