// Unicode normalisers of tokenizer.json ("NFC", "NFD", "NFKC", "NFKD" and a
// "Sequence" of them), applied with utf8proc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nmoe::tokenizer {

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };

class Normalizer {
 public:
  Normalizer() = default;  // the identity (tokenizer.json "normalizer": null)
  explicit Normalizer(std::vector<NormalForm> steps) : steps_(std::move(steps)) {}

  bool empty() const { return steps_.empty(); }
  const std::vector<NormalForm>& steps() const { return steps_; }

  // `text` (well-formed UTF-8) after every step in order. ASCII text, and for
  // NFC text whose code points are all NFC-inert, is returned unchanged
  // without calling utf8proc (most text is NFC already).
  std::string Apply(std::string_view text) const;

 private:
  std::vector<NormalForm> steps_;
};

// True for a code point that NFC never changes and that never composes with
// its neighbours (a starter, not the second of any canonical composition,
// NFC of itself). The table is built from utf8proc's data on first use (~0.1 s).
bool IsNfcInert(char32_t c);

}  // namespace nmoe::tokenizer
