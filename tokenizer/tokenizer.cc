#include "tokenizer/tokenizer.h"

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer_spec.h"
#include "tokenizer/utf8.h"

namespace nmoe::tokenizer {
namespace {

enum class Kind : uint8_t { kUnassigned, kModel, kAdded, kSpecial };

std::string Quote(std::string_view s) { return absl::StrCat("\"", std::string(s), "\""); }

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", std::string(what)));
}

}  // namespace

struct Tokenizer::Impl {
  std::vector<std::string> tokens;  // id -> token as in tokenizer.json
  std::vector<std::string> bytes;   // id -> what Decode emits
  std::vector<Kind> kinds;
  absl::flat_hash_map<std::string, int32_t> token_ids;
  std::vector<AddedToken> added_tokens;
  std::optional<PreTokenizer> pre_tokenizer;
  std::optional<BpeModel> bpe;
  bool has_template = false;
  std::vector<TemplateItem> single_template;
  std::optional<int32_t> bos;
  std::optional<int32_t> eos;

  std::optional<int32_t> Find(std::string_view token) const {
    const auto it = token_ids.find(absl::string_view(token.data(), token.size()));
    if (it == token_ids.end()) return std::nullopt;
    return it->second;
  }
  absl::Status Build(TokenizerSpec spec);
  absl::Status BuildVocab(const TokenizerSpec& spec);
  absl::Status BuildModel(const TokenizerSpec& spec);
  void FindBosEos();
};

absl::Status Tokenizer::Impl::BuildVocab(const TokenizerSpec& spec) {
  int32_t size = 0;
  for (const auto& [token, id] : spec.vocab) size = std::max(size, id + 1);
  for (const AddedToken& t : spec.added_tokens) size = std::max(size, t.id + 1);
  // Ids index dense tables: refuse absurd ones instead of allocating them.
  const size_t entries = spec.vocab.size() + spec.added_tokens.size();
  if (static_cast<size_t>(size) > 4 * entries + 1024 || size > (1 << 24)) {
    return Invalid(absl::StrCat("the largest id is ", size - 1, " but there are only ", entries,
                                " tokens (ids must be dense, below 2^24)"));
  }
  tokens.assign(size, {});
  bytes.assign(size, {});
  kinds.assign(size, Kind::kUnassigned);
  token_ids.reserve(spec.vocab.size() + spec.added_tokens.size());
  for (const auto& [token, id] : spec.vocab) {
    if (kinds[id] != Kind::kUnassigned) {
      return Invalid(absl::StrCat("model.vocab: id ", id, " is used by both ", Quote(tokens[id]),
                                  " and ", Quote(token)));
    }
    kinds[id] = Kind::kModel;
    tokens[id] = token;
    // A token outside the byte-level alphabet (never produced by merges of
    // bytes) decodes to its own UTF-8, as HF's ByteLevel decoder does.
    std::optional<std::string> b = ByteLevelToBytes(token);
    bytes[id] = b ? *std::move(b) : token;
    token_ids.emplace(token, id);
  }
  for (size_t i = 0; i < spec.added_tokens.size(); ++i) {
    const AddedToken& t = spec.added_tokens[i];
    if (kinds[t.id] == Kind::kModel && tokens[t.id] != t.content) {
      return Invalid(absl::StrCat("added_tokens[", i, "]: id ", t.id, " of ", Quote(t.content),
                                  " is the model token ", Quote(tokens[t.id])));
    }
    if (kinds[t.id] == Kind::kAdded || kinds[t.id] == Kind::kSpecial) {
      return Invalid(absl::StrCat("added_tokens[", i, "]: id ", t.id, " is used by two added tokens"));
    }
    kinds[t.id] = t.special ? Kind::kSpecial : Kind::kAdded;
    tokens[t.id] = t.content;
    bytes[t.id] = t.content;
    token_ids.insert_or_assign(t.content, t.id);
  }
  added_tokens = spec.added_tokens;
  return absl::OkStatus();
}

absl::Status Tokenizer::Impl::BuildModel(const TokenizerSpec& spec) {
  // Model tokens only (an added token never takes part in merges).
  absl::flat_hash_map<std::string, int32_t> model_ids;
  model_ids.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) model_ids.emplace(token, id);
  std::array<int32_t, 256> byte_ids{};
  for (int b = 0; b < 256; ++b) {
    const std::string token = BytesToByteLevel(std::string(1, static_cast<char>(b)));
    const auto it = model_ids.find(token);
    if (it == model_ids.end()) {
      return Invalid(absl::StrCat("model.vocab lacks the byte-level token ", Quote(token), " for byte ",
                                  b, ": not a complete byte-level vocabulary"));
    }
    byte_ids[b] = it->second;
  }
  std::vector<BpeModel::Merge> merges;
  merges.reserve(spec.merges.size());
  for (size_t i = 0; i < spec.merges.size(); ++i) {
    const auto& [left, right] = spec.merges[i];
    const auto l = model_ids.find(left);
    const auto r = model_ids.find(right);
    const auto m = model_ids.find(left + right);
    for (const auto& [it, name] : {std::pair{l, left}, std::pair{r, right}, std::pair{m, left + right}}) {
      if (it == model_ids.end()) {
        return Invalid(absl::StrCat("model.merges[", i, "]: ", Quote(name), " is not in model.vocab"));
      }
    }
    merges.push_back({l->second, r->second, m->second});
  }
  absl::flat_hash_map<std::string, int32_t> word_ids;
  if (spec.ignore_merges) {
    word_ids.reserve(spec.vocab.size());
    for (const auto& [token, id] : spec.vocab) {
      if (std::optional<std::string> b = ByteLevelToBytes(token); b) word_ids.emplace(*std::move(b), id);
    }
  }
  bpe.emplace(byte_ids, merges, spec.ignore_merges, std::move(word_ids));
  return absl::OkStatus();
}

void Tokenizer::Impl::FindBosEos() {
  bool seen_text = false;
  for (const TemplateItem& item : single_template) {
    if (item.is_sequence) {
      seen_text = true;
    } else if (item.ids.size() == 1) {
      if (!seen_text && !bos) bos = item.ids[0];
      if (seen_text) eos = item.ids[0];
    }
  }
  // By name, among added tokens only (Qwen's BPE vocabulary has a plain
  // "<|end_of_text|>" token).
  auto first_of = [&](std::initializer_list<std::string_view> names) -> std::optional<int32_t> {
    for (const std::string_view name : names) {
      for (const AddedToken& t : added_tokens) {
        if (t.content == name) return t.id;
      }
    }
    return std::nullopt;
  };
  if (!bos) bos = first_of({"<|begin_of_text|>", "<s>", "<|startoftext|>"});
  if (!eos) eos = first_of({"<|end_of_text|>", "</s>", "<|endoftext|>"});
}

absl::Status Tokenizer::Impl::Build(TokenizerSpec spec) {
  NMOE_RETURN_IF_ERROR(BuildVocab(spec));
  NMOE_RETURN_IF_ERROR(BuildModel(spec));
  for (const TemplateItem& item : spec.single_template) {
    for (const int32_t id : item.ids) {
      if (id >= static_cast<int32_t>(kinds.size()) || kinds[id] == Kind::kUnassigned) {
        return Invalid(absl::StrCat("post_processor: special token ", Quote(item.name), " has id ", id,
                                    ", which is not in the vocabulary"));
      }
    }
  }
  has_template = spec.has_template;
  single_template = spec.single_template;
  absl::StatusOr<PreTokenizer> p = PreTokenizer::Create(spec);
  if (!p.ok()) {
    return absl::Status(p.status().code(), absl::StrCat("tokenizer.json: pre_tokenizer: ", p.status().message()));
  }
  pre_tokenizer.emplace(*std::move(p));
  FindBosEos();
  return absl::OkStatus();
}

absl::StatusOr<Tokenizer> Tokenizer::FromJson(std::string_view json) {
  NMOE_ASSIGN_OR_RETURN(TokenizerSpec spec, ParseTokenizerJson(json));
  auto impl = std::make_shared<Impl>();
  NMOE_RETURN_IF_ERROR(impl->Build(std::move(spec)));
  return Tokenizer(std::move(impl));
}

absl::StatusOr<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open tokenizer file ", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading tokenizer file ", path));
  absl::StatusOr<Tokenizer> t = FromJson(content.str());
  if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat(path, ": ", t.status().message()));
  return t;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  EncodeTo(text, add_special_tokens, &ids);
  return ids;
}

void Tokenizer::EncodeTo(std::string_view text, bool add_special_tokens, std::vector<int32_t>* ids) const {
  std::string replaced;
  if (!IsValidUtf8(text)) {
    replaced = ReplaceInvalidUtf8(text);
    text = replaced;
  }
  auto encode_text = [&] {
    impl_->pre_tokenizer->Run(
        text, [ids](int32_t id) { ids->push_back(id); },
        [this, ids](std::string_view word) { impl_->bpe->Encode(word, ids); });
  };
  if (!add_special_tokens || !impl_->has_template) {
    encode_text();
    return;
  }
  for (const TemplateItem& item : impl_->single_template) {
    if (item.is_sequence) {
      encode_text();
    } else {
      ids->insert(ids->end(), item.ids.begin(), item.ids.end());
    }
  }
}

absl::StatusOr<std::string> Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size() || impl_->kinds[id] == Kind::kUnassigned) {
      return absl::InvalidArgumentError(
          absl::StrCat("Decode: id ", id, " (position ", i, ") is not in the vocabulary of size ", vocab_size()));
    }
    if (skip_special_tokens && impl_->kinds[id] == Kind::kSpecial) continue;
    out.append(impl_->bytes[id]);
  }
  if (!IsValidUtf8(out)) return ReplaceInvalidUtf8(out);
  return out;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->kinds.size()); }

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const { return impl_->Find(token); }

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  if (id < 0 || id >= vocab_size() || impl_->kinds[id] == Kind::kUnassigned) return std::nullopt;
  return impl_->tokens[id];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < vocab_size() && impl_->kinds[id] == Kind::kSpecial;
}

const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added_tokens; }
std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos; }
bool Tokenizer::has_post_processor_template() const { return impl_->has_template; }

}  // namespace nmoe::tokenizer
