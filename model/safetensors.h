// safetensors files: memory-mapped, fully validated reading and atomic writing.
//
// Format (Hugging Face safetensors): 8 bytes little-endian u64 N, then N bytes of
// UTF-8 JSON (the header), then the data section. The header is an object:
//   {"__metadata__": {str: str}, NAME: {"dtype": D, "shape": [..], "data_offsets": [b, e]}}
// Offsets are relative to the data section (file offset 8 + N). Data is little-endian,
// row-major, packed. docs/checkpoints.md lists every validation rule File::Open applies.
//
// Torch-free: tools and fuzzers link nmoe::safetensors alone; model/tensor_io.h converts
// to and from at::Tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nmoe::safetensors {

// Element types of the format, with their on-disk names ("F32", "BF16", ...).
enum class DType {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
};

// "F32" for kF32 and so on.
const char* DTypeName(DType dtype);
// The inverse of DTypeName; nullopt for names outside the list above.
std::optional<DType> ParseDType(std::string_view name);
// Bytes per element: 1, 2, 4 or 8.
size_t DTypeSize(DType dtype);

// The header's largest accepted size (the reference implementation's limit).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// One tensor of an open file. Offsets are relative to the data section.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // [] for a scalar; dims may be 0
  uint64_t data_begin = 0;
  uint64_t data_end = 0;

  uint64_t num_elements() const;  // product of shape (1 for a scalar)
  uint64_t num_bytes() const { return data_end - data_begin; }
};

// A read-only, memory-mapped, validated safetensors file. Immutable after Open and
// safe to share between threads. Held by shared_ptr so zero-copy tensors
// (model/tensor_io.h) can keep the mapping alive.
//
// The mapping is MAP_PRIVATE over a read-only descriptor: the file on disk is never
// modified. It is mapped writable copy-on-write so that a zero-copy tensor written in
// place changes only this process's pages instead of faulting; Bytes() stays const.
// Truncating the file on disk while it is mapped is outside the contract (SIGBUS).
class File {
 public:
  // Maps and validates `path`. Errors: NOT_FOUND (no such file), INVALID_ARGUMENT
  // naming the file and, where one is at fault, the tensor (corrupt or truncated
  // content), or the errno-derived code for I/O failures. Never crashes on content.
  static absl::StatusOr<std::shared_ptr<const File>> Open(const std::string& path);

  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  // Tensors in data order (ascending data_begin, then name).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorInfo* Find(std::string_view name) const;
  // The tensor's bytes inside the mapping. `info` must be an element of tensors() of
  // this File; anything else yields an empty span.
  std::span<const std::byte> Bytes(const TensorInfo& info) const;
  // The "__metadata__" object ({} when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  uint64_t file_size() const { return size_; }
  uint64_t header_size() const { return header_size_; }   // N
  uint64_t data_offset() const { return 8 + header_size_; }  // data section start in the file

 private:
  File() = default;

  std::string path_;
  void* map_ = nullptr;
  uint64_t size_ = 0;
  uint64_t header_size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a complete file image held in memory (what File::Open does after
// mapping). `label` names the source in errors. Exposed for tests and fuzzers.
struct ParsedHeader {
  uint64_t header_size = 0;
  std::vector<TensorInfo> tensors;  // data order
  std::map<std::string, std::string> metadata;
};
absl::StatusOr<ParsedHeader> ParseFileImage(std::span<const std::byte> image,
                                            const std::string& label);

// A tensor to write: raw little-endian, row-major bytes owned by the caller.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;  // exactly num_elements * DTypeSize(dtype) bytes
};

// Writes `tensors` to `path` atomically: a temp file in the same folder, fsync, rename,
// fsync of the folder. The data section starts 8-byte aligned (the header is padded with
// spaces) and tensors are laid out by descending element size, then name, so every
// tensor starts aligned to its element size. `metadata` is written as given (Hugging
// Face transformers requires {"format": "pt"}: WriteSharded adds it).
// INVALID_ARGUMENT for duplicate/empty/reserved names, non-UTF-8 names, negative dims
// or a data size that does not match dtype and shape.
absl::Status WriteFile(const std::string& path, std::span<const TensorView> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace nmoe::safetensors
