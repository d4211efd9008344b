#include "data/tools/encoder.h"

#ifdef NMOE_DATA_WITH_TOKENIZER
#include "tokenizer/tokenizer.h"
#endif

namespace nmoe::data::tools {

absl::StatusOr<LoadedEncoder> LoadEncoder(const std::string& tokenizer_json) {
#ifdef NMOE_DATA_WITH_TOKENIZER
  auto tok = tokenizer::Tokenizer::FromFile(tokenizer_json);
  if (!tok.ok()) return tok.status();
  LoadedEncoder out;
  out.vocab_size = static_cast<uint64_t>(tok->vocab_size());
  out.bos_id = tok->bos_id();
  out.eos_id = tok->eos_id();
  out.encode = [t = *tok](std::string_view text) { return t.Encode(text, /*add_special_tokens=*/false); };
  return out;
#else
  return absl::UnimplementedError(
      "nmoe-data was built without nmoe::tokenizer (tokenizer/ missing from the tree): cannot load " + tokenizer_json);
#endif
}

}  // namespace nmoe::data::tools
