#include "tokenizer/bpe_trainer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/merge_learner.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace nmoe::tokenizer {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Bytes ordered by the code point of their byte-level character.
std::array<uint8_t, 256> ByteOrder() {
  std::array<uint8_t, 256> order{};
  for (int b = 0; b < 256; ++b) order[b] = static_cast<uint8_t>(b);
  std::sort(order.begin(), order.end(), [](uint8_t x, uint8_t y) { return ByteToChar(x) < ByteToChar(y); });
  return order;
}

TokenizerSpec SpecFor(const BpeTrainerOptions& options) {
  TokenizerSpec spec;
  const int32_t first_special = options.vocab_size - static_cast<int32_t>(options.special_tokens.size());
  for (size_t i = 0; i < options.special_tokens.size(); ++i) {
    AddedToken t;
    t.id = first_special + static_cast<int32_t>(i);
    t.content = options.special_tokens[i];
    t.special = true;
    spec.added_tokens.push_back(std::move(t));
  }
  if (options.nfc) spec.normalizer = Normalizer({NormalForm::kNFC});
  spec.splits.push_back({options.split_regex, true, SplitBehavior::kIsolated});
  return spec;
}

OrderedJson AddedTokenJson(const AddedToken& t) {
  return {{"id", t.id},         {"content", t.content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},    {"normalized", false},  {"special", true}};
}

OrderedJson PostProcessorJson(const BpeTrainerOptions& options, int32_t bos_id) {
  if (options.bos_token.empty()) return nullptr;
  auto special = [&](int type_id) {
    return OrderedJson{{"SpecialToken", {{"id", options.bos_token}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return OrderedJson{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  // Llama-3.2's template: BOS before each sequence.
  return {{"type", "TemplateProcessing"},
          {"single", {special(0), sequence("A", 0)}},
          {"pair", {special(0), sequence("A", 0), special(1), sequence("B", 1)}},
          {"special_tokens",
           {{options.bos_token,
             {{"id", options.bos_token}, {"ids", {bos_id}}, {"tokens", {options.bos_token}}}}}}};
}

}  // namespace

struct BpeTrainer::State {
  BpeTrainerOptions options;
  TokenizerSpec spec;
  std::optional<PreTokenizer> pre_tokenizer;
  absl::flat_hash_map<std::string, int64_t> counts;
  int64_t words = 0;
};

BpeTrainer::BpeTrainer(std::unique_ptr<State> state) : state_(std::move(state)) {}
BpeTrainer::BpeTrainer(BpeTrainer&&) noexcept = default;
BpeTrainer& BpeTrainer::operator=(BpeTrainer&&) noexcept = default;
BpeTrainer::~BpeTrainer() = default;

absl::StatusOr<BpeTrainer> BpeTrainer::Create(BpeTrainerOptions options) {
  const auto specials = static_cast<int32_t>(options.special_tokens.size());
  if (options.vocab_size < 256 + specials) {
    return absl::InvalidArgumentError(absl::StrCat("BPE trainer: vocab_size ", options.vocab_size,
                                                   " is below 256 byte tokens + ", specials, " special tokens"));
  }
  if (options.min_frequency < 1) {
    return absl::InvalidArgumentError(absl::StrCat("BPE trainer: min_frequency ", options.min_frequency, " < 1"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& s : options.special_tokens) {
    if (s.empty() || !IsValidUtf8(s)) return absl::InvalidArgumentError("BPE trainer: a special token is empty or not UTF-8");
    if (!seen.insert(s).second) return absl::InvalidArgumentError(absl::StrCat("BPE trainer: special token ", s, " is listed twice"));
  }
  if (!options.bos_token.empty() && !seen.contains(options.bos_token)) {
    return absl::InvalidArgumentError(absl::StrCat("BPE trainer: bos_token ", options.bos_token,
                                                   " is not one of the special tokens"));
  }
  auto state = std::make_unique<State>();
  state->spec = SpecFor(options);
  state->options = std::move(options);
  NMOE_ASSIGN_OR_RETURN(PreTokenizer p, PreTokenizer::Create(state->spec));
  state->pre_tokenizer.emplace(std::move(p));
  return BpeTrainer(std::move(state));
}

void BpeTrainer::AddText(std::string_view text) {
  std::string replaced;
  if (!IsValidUtf8(text)) {
    replaced = ReplaceInvalidUtf8(text);
    text = replaced;
  }
  State& s = *state_;
  s.pre_tokenizer->Run(
      text, [](int32_t) {},
      [&s](std::string_view word) {
        ++s.counts[absl::string_view(word.data(), word.size())];
        ++s.words;
      });
}

absl::StatusOr<std::string> BpeTrainer::Train(BpeTrainerStats* stats) const {
  const State& s = *state_;
  const BpeTrainerOptions& options = s.options;
  std::vector<std::pair<std::string, int64_t>> words(s.counts.begin(), s.counts.end());
  std::sort(words.begin(), words.end());  // fixed order, whatever the hash map's
  const int32_t first_special = options.vocab_size - static_cast<int32_t>(options.special_tokens.size());
  const LearnedBpe learned = LearnMerges(words, ByteOrder(), first_special, options.min_frequency);

  // Appended without ordered_json's per-key linear search (quadratic over a
  // 32k vocabulary); the keys are distinct because the tokens' bytes are.
  OrderedJson vocab = OrderedJson::object();
  auto& entries = static_cast<OrderedJson::object_t::Container&>(*vocab.get_ptr<OrderedJson::object_t*>());
  entries.reserve(learned.tokens.size());
  for (size_t id = 0; id < learned.tokens.size(); ++id) {
    entries.emplace_back(BytesToByteLevel(learned.tokens[id]), OrderedJson(id));
  }
  // "a b" strings (Llama-3's form) load in every tokenizers version; the
  // [a, b] pair form needs tokenizers >= 0.20. Byte-level tokens never hold
  // a raw space, so the split at the space is unambiguous.
  OrderedJson merges = OrderedJson::array();
  for (const auto& [left, right] : learned.merges) {
    merges.push_back(BytesToByteLevel(learned.tokens[left]) + " " + BytesToByteLevel(learned.tokens[right]));
  }
  // Special tokens follow the learned vocabulary directly, so the ids stay
  // dense when training ran out of merges before the target size.
  const auto bpe_size = static_cast<int32_t>(learned.tokens.size());
  OrderedJson added = OrderedJson::array();
  int32_t bos_id = -1;
  for (size_t i = 0; i < s.spec.added_tokens.size(); ++i) {
    AddedToken t = s.spec.added_tokens[i];
    t.id = bpe_size + static_cast<int32_t>(i);
    if (t.content == options.bos_token) bos_id = t.id;
    added.push_back(AddedTokenJson(t));
  }
  OrderedJson split = {{"type", "Split"}, {"pattern", {{"Regex", options.split_regex}}},
                       {"behavior", "Isolated"}, {"invert", false}};
  OrderedJson byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                            {"use_regex", false}};
  OrderedJson root = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", options.nfc ? OrderedJson{{"type", "NFC"}} : OrderedJson(nullptr)},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split, byte_level}}}},
      {"post_processor", PostProcessorJson(options, bos_id)},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
        {"ignore_merges", false}, {"vocab", vocab}, {"merges", merges}}}};
  if (stats != nullptr) {
    stats->words = s.words;
    stats->distinct_words = static_cast<int64_t>(words.size());
    stats->merges = static_cast<int32_t>(learned.merges.size());
    stats->vocab_size = bpe_size + static_cast<int32_t>(s.spec.added_tokens.size());
  }
  return root.dump(1);
}

}  // namespace nmoe::tokenizer
