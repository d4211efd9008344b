#include "tokenizer/tokenizer_spec.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace nmoe::tokenizer {
namespace {

using Json = nlohmann::json;

std::string Quote(std::string_view s) { return Json(std::string(s)).dump(); }

absl::Status Invalid(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", std::string(path), ": ", std::string(what)));
}

absl::Status Unsupported(std::string_view path, std::string_view what) {
  return absl::UnimplementedError(absl::StrCat("tokenizer.json: ", std::string(path), ": ", std::string(what)));
}

absl::Status WrongType(std::string_view path, std::string_view expected, const Json& got) {
  return Invalid(path, absl::StrCat("expected ", std::string(expected), ", got ", got.type_name()));
}

// The member `key` of object `obj`, or nullptr when absent.
const Json* Member(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool IsNull(const Json* value) { return value == nullptr || value->is_null(); }

absl::StatusOr<bool> GetBool(const Json& obj, const char* key, const std::string& path, bool fallback) {
  const Json* v = Member(obj, key);
  if (IsNull(v)) return fallback;
  if (!v->is_boolean()) return WrongType(absl::StrCat(path, ".", key), "a boolean", *v);
  return v->get<bool>();
}

absl::StatusOr<std::string> GetString(const Json& value, const std::string& path) {
  if (!value.is_string()) return WrongType(path, "a string", value);
  return value.get<std::string>();
}

absl::StatusOr<int32_t> GetId(const Json& value, const std::string& path) {
  if (!value.is_number_integer()) return WrongType(path, "an integer id", value);
  const int64_t id = value.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(
                                                      value.get<uint64_t>(), uint64_t{1} << 40))
                                                : value.get<int64_t>();
  if (id < 0 || id >= std::numeric_limits<int32_t>::max()) {
    return Invalid(path, absl::StrCat("id ", id, " is out of range [0, 2^31-1)"));
  }
  return static_cast<int32_t>(id);
}

// The "type" of a component object at `path`.
absl::StatusOr<std::string> TypeOf(const Json& component, const std::string& path) {
  if (!component.is_object()) return WrongType(path, "an object", component);
  const Json* type = Member(component, "type");
  if (type == nullptr) return Invalid(path, "has no \"type\"");
  return GetString(*type, path + ".type");
}

absl::Status ParseModel(const Json& model, TokenizerSpec* spec) {
  const std::string path = "model";
  if (!model.is_object()) return WrongType(path, "an object", model);
  if (const Json* type = Member(model, "type"); type != nullptr) {
    NMOE_ASSIGN_OR_RETURN(const std::string name, GetString(*type, "model.type"));
    if (name != "BPE") return Unsupported("model.type", Quote(name) + " is not supported (only \"BPE\")");
  }
  if (const Json* dropout = Member(model, "dropout"); !IsNull(dropout)) {
    if (!dropout->is_number()) return WrongType("model.dropout", "a number or null", *dropout);
    if (dropout->get<double>() != 0.0) {
      return Unsupported("model.dropout", "BPE dropout is not supported (it makes encoding random)");
    }
  }
  NMOE_ASSIGN_OR_RETURN(const bool byte_fallback, GetBool(model, "byte_fallback", path, false));
  if (byte_fallback) return Unsupported("model.byte_fallback", "true is not supported (byte-level BPE only)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const Json* v = Member(model, key);
    if (IsNull(v)) continue;
    NMOE_ASSIGN_OR_RETURN(const std::string s, GetString(*v, absl::StrCat("model.", key)));
    if (!s.empty()) return Unsupported(absl::StrCat("model.", key), Quote(s) + " is not supported (only null or \"\")");
  }
  NMOE_ASSIGN_OR_RETURN(spec->ignore_merges, GetBool(model, "ignore_merges", path, false));

  const Json* vocab = Member(model, "vocab");
  if (vocab == nullptr) return Invalid(path, "has no \"vocab\"");
  if (!vocab->is_object()) return WrongType("model.vocab", "an object", *vocab);
  spec->vocab.reserve(vocab->size());
  for (const auto& [token, id_json] : vocab->items()) {
    NMOE_ASSIGN_OR_RETURN(const int32_t id, GetId(id_json, absl::StrCat("model.vocab[", Quote(token), "]")));
    spec->vocab.emplace_back(token, id);
  }

  const Json* merges = Member(model, "merges");
  if (merges == nullptr) return Invalid(path, "has no \"merges\"");
  if (!merges->is_array()) return WrongType("model.merges", "an array", *merges);
  spec->merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const Json& m = (*merges)[i];
    const std::string item = absl::StrCat("model.merges[", i, "]");
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return Invalid(item, absl::StrCat(Quote(s), " is not two tokens separated by one space"));
      }
      spec->merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array()) {
      if (m.size() != 2 || !m[0].is_string() || !m[1].is_string()) {
        return Invalid(item, "expected a pair of strings");
      }
      spec->merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return WrongType(item, "a string \"a b\" or a pair [a, b]", m);
    }
  }
  return absl::OkStatus();
}

absl::Status ParseAddedTokens(const Json& list, TokenizerSpec* spec) {
  if (!list.is_array()) return WrongType("added_tokens", "an array", list);
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& t = list[i];
    const std::string path = absl::StrCat("added_tokens[", i, "]");
    if (!t.is_object()) return WrongType(path, "an object", t);
    AddedToken token;
    const Json* id = Member(t, "id");
    const Json* content = Member(t, "content");
    if (id == nullptr || content == nullptr) return Invalid(path, "needs \"id\" and \"content\"");
    NMOE_ASSIGN_OR_RETURN(token.id, GetId(*id, path + ".id"));
    NMOE_ASSIGN_OR_RETURN(token.content, GetString(*content, path + ".content"));
    if (token.content.empty()) return Invalid(path + ".content", "is empty");
    NMOE_ASSIGN_OR_RETURN(token.special, GetBool(t, "special", path, false));
    NMOE_ASSIGN_OR_RETURN(token.single_word, GetBool(t, "single_word", path, false));
    NMOE_ASSIGN_OR_RETURN(token.lstrip, GetBool(t, "lstrip", path, false));
    NMOE_ASSIGN_OR_RETURN(token.rstrip, GetBool(t, "rstrip", path, false));
    NMOE_ASSIGN_OR_RETURN(token.normalized, GetBool(t, "normalized", path, !token.special));
    spec->added_tokens.push_back(std::move(token));
  }
  return absl::OkStatus();
}

absl::Status ParseNormalizer(const Json& n, const std::string& path, std::vector<NormalForm>* steps) {
  if (n.is_null()) return absl::OkStatus();
  NMOE_ASSIGN_OR_RETURN(const std::string type, TypeOf(n, path));
  if (type == "NFC") {
    steps->push_back(NormalForm::kNFC);
  } else if (type == "NFD") {
    steps->push_back(NormalForm::kNFD);
  } else if (type == "NFKC") {
    steps->push_back(NormalForm::kNFKC);
  } else if (type == "NFKD") {
    steps->push_back(NormalForm::kNFKD);
  } else if (type == "Sequence") {
    const Json* list = Member(n, "normalizers");
    if (list == nullptr || !list->is_array()) return Invalid(path, "Sequence needs a \"normalizers\" array");
    for (size_t i = 0; i < list->size(); ++i) {
      NMOE_RETURN_IF_ERROR(ParseNormalizer((*list)[i], absl::StrCat(path, ".normalizers[", i, "]"), steps));
    }
  } else {
    return Unsupported(path, absl::StrCat("normalizer type ", Quote(type),
                                          " is not supported (NFC, NFD, NFKC, NFKD, Sequence)"));
  }
  return absl::OkStatus();
}

absl::Status ParseSplit(const Json& s, const std::string& path, TokenizerSpec* spec) {
  SplitSpec split;
  const Json* pattern = Member(s, "pattern");
  if (pattern == nullptr || !pattern->is_object()) return Invalid(path, "Split needs a \"pattern\" object");
  if (const Json* regex = Member(*pattern, "Regex"); regex != nullptr) {
    NMOE_ASSIGN_OR_RETURN(split.pattern, GetString(*regex, path + ".pattern.Regex"));
  } else if (const Json* literal = Member(*pattern, "String"); literal != nullptr) {
    NMOE_ASSIGN_OR_RETURN(split.pattern, GetString(*literal, path + ".pattern.String"));
    split.is_regex = false;
  } else {
    return Invalid(path + ".pattern", "needs \"Regex\" or \"String\"");
  }
  const Json* behavior = Member(s, "behavior");
  if (behavior == nullptr) return Invalid(path, "Split has no \"behavior\"");
  NMOE_ASSIGN_OR_RETURN(const std::string b, GetString(*behavior, path + ".behavior"));
  if (b == "Isolated") {
    split.behavior = SplitBehavior::kIsolated;
  } else if (b == "Removed") {
    split.behavior = SplitBehavior::kRemoved;
  } else {
    return Unsupported(path + ".behavior", Quote(b) + " is not supported (Isolated, Removed)");
  }
  NMOE_ASSIGN_OR_RETURN(const bool invert, GetBool(s, "invert", path, false));
  if (invert) return Unsupported(path + ".invert", "true is not supported");
  spec->splits.push_back(std::move(split));
  return absl::OkStatus();
}

absl::Status ParsePreTokenizer(const Json* p, TokenizerSpec* spec) {
  const std::string path = "pre_tokenizer";
  if (IsNull(p)) return Unsupported(path, "is null; only byte-level BPE (a ByteLevel pre-tokenizer) is supported");
  NMOE_ASSIGN_OR_RETURN(const std::string type, TypeOf(*p, path));
  std::vector<std::pair<const Json*, std::string>> steps;
  if (type == "Sequence") {
    const Json* list = Member(*p, "pretokenizers");
    if (list == nullptr || !list->is_array()) return Invalid(path, "Sequence needs a \"pretokenizers\" array");
    for (size_t i = 0; i < list->size(); ++i) {
      steps.emplace_back(&(*list)[i], absl::StrCat(path, ".pretokenizers[", i, "]"));
    }
  } else {
    steps.emplace_back(p, path);
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& [step, step_path] = steps[i];
    NMOE_ASSIGN_OR_RETURN(const std::string step_type, TypeOf(*step, step_path));
    const bool last = i + 1 == steps.size();
    if (step_type == "ByteLevel") {
      if (!last) return Unsupported(step_path, "ByteLevel must be the last pre-tokenizer step");
      NMOE_ASSIGN_OR_RETURN(spec->byte_level_add_prefix_space,
                            GetBool(*step, "add_prefix_space", step_path, true));
      NMOE_ASSIGN_OR_RETURN(spec->byte_level_use_regex, GetBool(*step, "use_regex", step_path, true));
    } else if (step_type == "Split") {
      if (last) return Unsupported(step_path, "the last pre-tokenizer step must be ByteLevel (byte-level BPE only)");
      NMOE_RETURN_IF_ERROR(ParseSplit(*step, step_path, spec));
    } else {
      return Unsupported(step_path, absl::StrCat("pre-tokenizer type ", Quote(step_type),
                                                 " is not supported (Split, ByteLevel, Sequence)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseTemplate(const Json& t, const std::string& path, TokenizerSpec* spec) {
  if (spec->has_template) return Unsupported(path, "more than one TemplateProcessing");
  const Json* special = Member(t, "special_tokens");
  if (special != nullptr && !special->is_object()) return WrongType(path + ".special_tokens", "an object", *special);
  const Json* single = Member(t, "single");
  if (single == nullptr || !single->is_array()) return Invalid(path, "TemplateProcessing needs a \"single\" array");
  spec->has_template = true;
  for (size_t i = 0; i < single->size(); ++i) {
    const Json& item = (*single)[i];
    const std::string item_path = absl::StrCat(path, ".single[", i, "]");
    if (!item.is_object()) return WrongType(item_path, "an object", item);
    TemplateItem out;
    if (const Json* seq = Member(item, "Sequence"); seq != nullptr) {
      const Json* id = seq->is_object() ? Member(*seq, "id") : nullptr;
      if (id == nullptr || !id->is_string() || id->get<std::string>() != "A") {
        return Invalid(item_path, "the single template's Sequence must be {\"id\": \"A\"}");
      }
      out.is_sequence = true;
    } else if (const Json* tok = Member(item, "SpecialToken"); tok != nullptr) {
      const Json* id = tok->is_object() ? Member(*tok, "id") : nullptr;
      if (id == nullptr) return Invalid(item_path, "SpecialToken needs an \"id\"");
      NMOE_ASSIGN_OR_RETURN(out.name, GetString(*id, item_path + ".SpecialToken.id"));
      const Json* entry = special == nullptr ? nullptr : Member(*special, out.name.c_str());
      if (entry == nullptr || !entry->is_object()) {
        return Invalid(item_path, absl::StrCat("special token ", Quote(out.name), " is not in special_tokens"));
      }
      const Json* ids = Member(*entry, "ids");
      if (ids == nullptr || !ids->is_array()) {
        return Invalid(absl::StrCat(path, ".special_tokens[", Quote(out.name), "]"), "needs an \"ids\" array");
      }
      for (size_t k = 0; k < ids->size(); ++k) {
        NMOE_ASSIGN_OR_RETURN(const int32_t id_value,
                              GetId((*ids)[k], absl::StrCat(path, ".special_tokens[", Quote(out.name), "].ids[", k, "]")));
        out.ids.push_back(id_value);
      }
    } else {
      return Invalid(item_path, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
    spec->single_template.push_back(std::move(out));
  }
  return absl::OkStatus();
}

absl::Status ParsePostProcessor(const Json& p, const std::string& path, TokenizerSpec* spec) {
  if (p.is_null()) return absl::OkStatus();
  NMOE_ASSIGN_OR_RETURN(const std::string type, TypeOf(p, path));
  if (type == "ByteLevel") return absl::OkStatus();  // offsets only; ids unchanged
  if (type == "TemplateProcessing") return ParseTemplate(p, path, spec);
  if (type == "Sequence") {
    const Json* list = Member(p, "processors");
    if (list == nullptr || !list->is_array()) return Invalid(path, "Sequence needs a \"processors\" array");
    for (size_t i = 0; i < list->size(); ++i) {
      NMOE_RETURN_IF_ERROR(ParsePostProcessor((*list)[i], absl::StrCat(path, ".processors[", i, "]"), spec));
    }
    return absl::OkStatus();
  }
  return Unsupported(path, absl::StrCat("post-processor type ", Quote(type),
                                        " is not supported (ByteLevel, TemplateProcessing, Sequence)"));
}

absl::Status ParseDecoder(const Json* d) {
  if (IsNull(d)) return Unsupported("decoder", "is null; only the ByteLevel decoder is supported");
  NMOE_ASSIGN_OR_RETURN(const std::string type, TypeOf(*d, "decoder"));
  if (type != "ByteLevel") {
    return Unsupported("decoder", absl::StrCat("decoder type ", Quote(type), " is not supported (ByteLevel)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenizerSpec> ParseRoot(const Json& root) {
  if (!root.is_object()) return WrongType("(root)", "an object", root);
  for (const char* key : {"truncation", "padding"}) {
    if (!IsNull(Member(root, key))) {
      return Unsupported(key, "is set; nmoe does not truncate or pad in the tokenizer (set it to null)");
    }
  }
  TokenizerSpec spec;
  const Json* model = Member(root, "model");
  if (model == nullptr) return Invalid("(root)", "has no \"model\"");
  NMOE_RETURN_IF_ERROR(ParseModel(*model, &spec));
  if (const Json* added = Member(root, "added_tokens"); !IsNull(added)) {
    NMOE_RETURN_IF_ERROR(ParseAddedTokens(*added, &spec));
  }
  std::vector<NormalForm> steps;
  if (const Json* n = Member(root, "normalizer"); n != nullptr) {
    NMOE_RETURN_IF_ERROR(ParseNormalizer(*n, "normalizer", &steps));
  }
  spec.normalizer = Normalizer(std::move(steps));
  NMOE_RETURN_IF_ERROR(ParsePreTokenizer(Member(root, "pre_tokenizer"), &spec));
  if (const Json* p = Member(root, "post_processor"); p != nullptr) {
    NMOE_RETURN_IF_ERROR(ParsePostProcessor(*p, "post_processor", &spec));
  }
  NMOE_RETURN_IF_ERROR(ParseDecoder(Member(root, "decoder")));
  return spec;
}

}  // namespace

absl::StatusOr<TokenizerSpec> ParseTokenizerJson(std::string_view json) {
  Json root;
  try {
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json is not valid JSON: ", e.what()));
  }
  try {
    return ParseRoot(root);
  } catch (const Json::exception& e) {  // a type check this parser missed
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: unexpected structure: ", e.what()));
  }
}

}  // namespace nmoe::tokenizer
