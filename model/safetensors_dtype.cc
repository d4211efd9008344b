// DType names and sizes, and TensorInfo helpers.
#include <array>
#include <utility>

#include "model/safetensors.h"

namespace nmoe::safetensors {
namespace {

struct DTypeRow {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr std::array<DTypeRow, 15> kDTypes = {{
    {DType::kBool, "BOOL", 1},
    {DType::kU8, "U8", 1},
    {DType::kI8, "I8", 1},
    {DType::kF8E5M2, "F8_E5M2", 1},
    {DType::kF8E4M3, "F8_E4M3", 1},
    {DType::kI16, "I16", 2},
    {DType::kU16, "U16", 2},
    {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},
    {DType::kI32, "I32", 4},
    {DType::kU32, "U32", 4},
    {DType::kF32, "F32", 4},
    {DType::kF64, "F64", 8},
    {DType::kI64, "I64", 8},
    {DType::kU64, "U64", 8},
}};

const DTypeRow& Row(DType dtype) {
  for (const DTypeRow& row : kDTypes) {
    if (row.dtype == dtype) return row;
  }
  return kDTypes[0];  // unreachable for valid enum values
}

}  // namespace

const char* DTypeName(DType dtype) { return Row(dtype).name; }

size_t DTypeSize(DType dtype) { return Row(dtype).size; }

std::optional<DType> ParseDType(std::string_view name) {
  for (const DTypeRow& row : kDTypes) {
    if (name == row.name) return row.dtype;
  }
  return std::nullopt;
}

uint64_t TensorInfo::num_elements() const {
  // Validated files guarantee no overflow; saturate for hand-built infos.
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return 0;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) return UINT64_MAX;
  }
  return count;
}

}  // namespace nmoe::safetensors
