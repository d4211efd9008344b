// Added tokens of tokenizer.json ("added_tokens"): strings matched in the text
// before pre-tokenization and mapped to their id directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace nmoe::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;  // match only when not inside a word
  bool lstrip = false;       // also swallow the whitespace to its left
  bool rstrip = false;       // also swallow the whitespace to its right
  bool normalized = false;   // matched in normalised text (else in the raw text)
  bool special = false;      // dropped by Decode(skip_special_tokens)
};

// A piece of text: plain text (token_id < 0) or one matched added token.
struct Segment {
  std::string_view text;
  int32_t token_id = -1;
};

// Finds a set of added tokens in text as Hugging Face's AddedVocabulary does:
// leftmost-longest matches; a single_word token only where the characters
// around it are not alphanumeric; lstrip/rstrip extend the match over
// adjacent Unicode whitespace (never into the previous match).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `content` is what is searched for (the normalised content for normalised
  // tokens); `token` supplies the id and flags.
  void Add(std::string_view content, const AddedToken& token);
  bool empty() const { return tokens_.empty(); }

  // Appends the segments of `text` (well-formed UTF-8): plain-text pieces
  // (non-empty) and matched tokens, in order.
  void Split(std::string_view text, std::vector<Segment>* out) const;

 private:
  struct Entry {
    AddedToken token;
    size_t length = 0;
  };
  // The longest token matching at text[pos], or -1; *length gets its length.
  int LongestAt(std::string_view text, size_t pos, size_t* length) const;
  bool AcceptSingleWord(std::string_view text, size_t begin, size_t end) const;

  // A byte trie: (node << 8 | byte) -> child node; node 0 is the root.
  absl::flat_hash_map<uint64_t, int32_t> edges_;
  std::vector<int32_t> terminal_;  // per node: index in tokens_, or -1
  std::vector<Entry> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace nmoe::tokenizer
