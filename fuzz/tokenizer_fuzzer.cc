// Fuzzes tokenizer.json loading and the loaded tokenizer: Tokenizer::FromJson,
// then Encode / Decode. Input: tokenizer.json text, a NUL byte, then text to
// encode (no NUL: the whole input is the JSON and a fixed sample is encoded).
// Contract checked (tokenizer/tokenizer.h): loading fails with a Status, never a
// crash; Encode never fails and gives ids below vocab_size(); decoding those ids
// succeeds; Decode of arbitrary ids fails only with INVALID_ARGUMENT.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "tests/tokenizer/tiny_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace {

void CheckEncodeDecode(const nmoe::tokenizer::Tokenizer& tok, std::string_view text) {
  for (const bool special : {false, true}) {
    const std::vector<int32_t> ids = tok.Encode(text, special);
    for (const int32_t id : ids) NMOE_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
    NMOE_FUZZ_CHECK(tok.Decode(ids, false).ok());
    NMOE_FUZZ_CHECK(tok.Decode(ids, true).ok());
  }
}

const nmoe::tokenizer::Tokenizer& FixedTokenizer() {
  static const nmoe::tokenizer::Tokenizer* tok = [] {
    using nlohmann::ordered_json;
    const ordered_json json = nmoe::tokenizer::testing::TinyTokenizerJson({
        {{"content", "<|endoftext|>"}, {"special", true}},
        {{"content", "<tag>"}, {"special", true}, {"lstrip", true}, {"rstrip", true}},
        {{"content", "hello"}, {"single_word", true}},
        {{"content", " wor"}, {"normalized", true}},
    });
    absl::StatusOr<nmoe::tokenizer::Tokenizer> loaded = nmoe::tokenizer::Tokenizer::FromJson(json.dump());
    NMOE_FUZZ_CHECK(loaded.ok());
    return new nmoe::tokenizer::Tokenizer(*std::move(loaded));
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  const std::string_view text = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  if (nul == 0) {
    CheckEncodeDecode(FixedTokenizer(), text);
    return 0;
  }
  absl::StatusOr<nmoe::tokenizer::Tokenizer> tok = nmoe::tokenizer::Tokenizer::FromJson(json);
  if (!tok.ok()) return 0;
  CheckEncodeDecode(*tok, text);
  CheckEncodeDecode(*tok, "Hello world! 12345 <|endoftext|> \xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xff");
  // Arbitrary ids (the text's bytes, 4 at a time): a Status, never a crash.
  std::vector<int32_t> ids(text.size() / 4);
  if (!ids.empty()) std::memcpy(ids.data(), text.data(), ids.size() * 4);
  absl::StatusOr<std::string> decoded = tok->Decode(ids);
  NMOE_FUZZ_CHECK(decoded.ok() || absl::IsInvalidArgument(decoded.status()));
  for (const int32_t id : ids) {
    if (auto token = tok->IdToToken(id)) NMOE_FUZZ_CHECK(tok->TokenToId(*token).has_value());
  }
  (void)tok->bos_id();
  (void)tok->eos_id();
  return 0;
}
