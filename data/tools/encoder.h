// Loading a tokenizer.json as an Encoder for the data tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "data/sentences.h"

namespace nmoe::data::tools {

struct LoadedEncoder {
  Encoder encode;  // without special tokens: packing adds BOS/EOS separators itself
  uint64_t vocab_size = 0;
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
};

// UNIMPLEMENTED when nmoe-data was built without nmoe::tokenizer; the tokenizer's own
// errors otherwise.
absl::StatusOr<LoadedEncoder> LoadEncoder(const std::string& tokenizer_json);

}  // namespace nmoe::data::tools
