// A small byte-level BPE tokenizer.json built in code for unit tests: the
// 256 byte tokens (ids 0-255 in code point order of their byte-level
// characters), a few merges, Llama-3's Split regex + ByteLevel, and added
// tokens placed after the BPE vocabulary.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_trainer.h"
#include "tokenizer/byte_level.h"

namespace nmoe::tokenizer::testing {

// Merges over raw bytes, in rank order; each adds the token left+right.
inline std::vector<std::pair<std::string, std::string>> TinyMerges() {
  return {{"e", "l"}, {"el", "l"}, {"h", "ell"}, {"hell", "o"}, {" ", "t"},   {"h", "e"},   {" t", "he"},
          {"1", "2"}, {"a", "a"},   {" ", "w"},   {"o", "r"},     {" w", "or"}, {"l", "d"}, {" wor", "ld"}};
}

// The tokenizer.json; `added` are {content, flags...} objects without ids
// (ids are assigned after the BPE vocabulary, in order).
inline nlohmann::ordered_json TinyTokenizerJson(std::vector<nlohmann::ordered_json> added = {}) {
  using nlohmann::ordered_json;
  std::array<int, 256> order{};
  for (int b = 0; b < 256; ++b) order[b] = b;
  std::sort(order.begin(), order.end(), [](int x, int y) {
    return ByteToChar(static_cast<uint8_t>(x)) < ByteToChar(static_cast<uint8_t>(y));
  });
  ordered_json vocab = ordered_json::object();
  int next = 0;
  for (const int b : order) vocab[BytesToByteLevel(std::string(1, static_cast<char>(b)))] = next++;
  ordered_json merges = ordered_json::array();
  for (const auto& [left, right] : TinyMerges()) {
    const std::string l = BytesToByteLevel(left);
    const std::string r = BytesToByteLevel(right);
    merges.push_back(l + " " + r);
    if (!vocab.contains(l + r)) vocab[l + r] = next++;
  }
  ordered_json added_json = ordered_json::array();
  for (ordered_json token : added) {
    token["id"] = next++;
    for (const char* flag : {"single_word", "lstrip", "rstrip", "normalized", "special"}) {
      if (!token.contains(flag)) token[flag] = false;
    }
    added_json.push_back(token);
  }
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_json},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3SplitRegex}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", merges}}}};
}

// The id of a raw-bytes token of the tiny vocabulary.
inline int TinyId(const nlohmann::ordered_json& json, const std::string& bytes) {
  return json["model"]["vocab"][BytesToByteLevel(bytes)].get<int>();
}

}  // namespace nmoe::tokenizer::testing
