// Fuzzes safetensors file images: ParseFileImage (what File::Open runs on the
// mapping: header length, strict JSON header, tensor table, tiling of the data
// section). Input: a whole file. Accepted images must satisfy the documented
// contract: every tensor lies inside the data section, holds exactly
// elements x dtype size bytes, and the tensors tile the section in order.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/fuzz_check.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace st = nmoe::safetensors;
  const std::span<const std::byte> image(reinterpret_cast<const std::byte*>(data), size);
  absl::StatusOr<st::ParsedHeader> parsed = st::ParseFileImage(image, "fuzz.safetensors");
  if (!parsed.ok()) {
    NMOE_FUZZ_CHECK(absl::IsInvalidArgument(parsed.status()));
    return 0;
  }
  NMOE_FUZZ_CHECK(parsed->header_size <= st::kMaxHeaderBytes);
  NMOE_FUZZ_CHECK(8 + parsed->header_size <= size);
  const uint64_t data_size = size - 8 - parsed->header_size;
  uint64_t cursor = 0;
  for (const st::TensorInfo& t : parsed->tensors) {
    NMOE_FUZZ_CHECK(t.data_begin == cursor);
    NMOE_FUZZ_CHECK(t.data_begin <= t.data_end && t.data_end <= data_size);
    NMOE_FUZZ_CHECK(t.num_bytes() == t.num_elements() * st::DTypeSize(t.dtype));
    NMOE_FUZZ_CHECK(st::ParseDType(st::DTypeName(t.dtype)) == t.dtype);
    cursor = t.data_end;
  }
  NMOE_FUZZ_CHECK(cursor == data_size);
  return 0;
}
