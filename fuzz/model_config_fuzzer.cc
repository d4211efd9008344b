// Fuzzes config.json parsing: model::ParseModelConfig (the checkpoint loader's
// and the train task's entry). Input: config.json text. Contract checked: an
// accepted config validates, its parameter count is computable, and writing it
// back (ModelConfigToJson) gives text that parses to the same config.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace model = nmoe::model;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<model::ModelConfig> config = model::ParseModelConfig(text);
  if (!config.ok()) {
    NMOE_FUZZ_CHECK(absl::IsInvalidArgument(config.status()) || absl::IsUnimplemented(config.status()));
    return 0;
  }
  NMOE_FUZZ_CHECK(model::ValidateModelConfig(*config).ok());
  (void)config->NumParameters();
  absl::StatusOr<std::string> written = model::ModelConfigToJson(*config);
  NMOE_FUZZ_CHECK(written.ok());
  absl::StatusOr<model::ModelConfig> again = model::ParseModelConfig(*written);
  NMOE_FUZZ_CHECK(again.ok());
  absl::StatusOr<std::string> rewritten = model::ModelConfigToJson(*again);
  NMOE_FUZZ_CHECK(rewritten.ok() && *rewritten == *written);
  return 0;
}
