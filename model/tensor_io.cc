// at::Tensor <-> safetensors. Errors name the file and the tensor; c10::Error never
// escapes (it becomes INTERNAL with that context).
#include "model/tensor_io.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/util/Exception.h>

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nmoe::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swapping");

namespace st = ::nmoe::safetensors;

namespace {

std::string Where(const st::File& file, const std::string& name) {
  return absl::StrCat(file.path(), ": tensor '", name, "'");
}

std::string ShapeText(std::span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

absl::StatusOr<c10::ScalarType> ToScalarType(st::DType dtype) {
  switch (dtype) {
    case st::DType::kBool: return c10::ScalarType::Bool;
    case st::DType::kU8: return c10::ScalarType::Byte;
    case st::DType::kI8: return c10::ScalarType::Char;
    case st::DType::kI16: return c10::ScalarType::Short;
    case st::DType::kF16: return c10::ScalarType::Half;
    case st::DType::kBF16: return c10::ScalarType::BFloat16;
    case st::DType::kI32: return c10::ScalarType::Int;
    case st::DType::kF32: return c10::ScalarType::Float;
    case st::DType::kF64: return c10::ScalarType::Double;
    case st::DType::kI64: return c10::ScalarType::Long;
    default:
      return absl::UnimplementedError(
          absl::StrCat("dtype ", st::DTypeName(dtype), " has no LibTorch 1.13 equivalent"));
  }
}

absl::StatusOr<st::DType> FromScalarType(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Bool: return st::DType::kBool;
    case c10::ScalarType::Byte: return st::DType::kU8;
    case c10::ScalarType::Char: return st::DType::kI8;
    case c10::ScalarType::Short: return st::DType::kI16;
    case c10::ScalarType::Half: return st::DType::kF16;
    case c10::ScalarType::BFloat16: return st::DType::kBF16;
    case c10::ScalarType::Int: return st::DType::kI32;
    case c10::ScalarType::Float: return st::DType::kF32;
    case c10::ScalarType::Double: return st::DType::kF64;
    case c10::ScalarType::Long: return st::DType::kI64;
    default:
      return absl::UnimplementedError(
          absl::StrCat("torch dtype ", c10::toString(type), " has no safetensors equivalent"));
  }
}

absl::StatusOr<at::Tensor> ToTensor(const std::shared_ptr<const st::File>& file,
                                    const st::TensorInfo& info, const LoadOptions& options) {
  if (file == nullptr) return absl::InvalidArgumentError("ToTensor: no file");
  if (file->Find(info.name) != &info) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(*file, info.name), ": TensorInfo does not belong to this file"));
  }
  absl::StatusOr<c10::ScalarType> type = ToScalarType(info.dtype);
  if (!type.ok()) {
    return absl::UnimplementedError(absl::StrCat(Where(*file, info.name), ": ",
                                                 type.status().message()));
  }
  std::span<const std::byte> bytes = file->Bytes(info);
  if (info.dtype == st::DType::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (std::to_integer<unsigned>(bytes[i]) > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            Where(*file, info.name), ": BOOL element ", i, " is ",
            std::to_integer<unsigned>(bytes[i]), ", not 0 or 1"));
      }
    }
  }
  try {
    at::TensorOptions tensor_options = at::TensorOptions().dtype(*type).device(at::kCPU);
    void* data = const_cast<std::byte*>(bytes.data());  // private mapping: see safetensors.h
    bool aligned = reinterpret_cast<uintptr_t>(data) % st::DTypeSize(info.dtype) == 0;
    bool convert = options.dtype.has_value() && *options.dtype != *type;
    if (aligned && !bytes.empty()) {
      if (!convert && options.zero_copy) {
        std::shared_ptr<const st::File> keep = file;  // released with the tensor's storage
        return at::from_blob(data, info.shape, [keep](void*) {}, tensor_options);
      }
      at::Tensor view = at::from_blob(data, info.shape, tensor_options);  // borrowed here only
      return convert ? view.to(*options.dtype) : view.clone();
    }
    at::Tensor copy = at::empty(info.shape, tensor_options);
    if (!bytes.empty()) std::memcpy(copy.data_ptr(), bytes.data(), bytes.size());
    return convert ? copy.to(*options.dtype) : copy;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(Where(*file, info.name), ": LibTorch: ",
                                            e.what_without_backtrace()));
  }
}

absl::Status CheckShape(std::string_view where, std::string_view name,
                        std::span<const int64_t> actual, std::span<const int64_t> expected) {
  if (std::equal(actual.begin(), actual.end(), expected.begin(), expected.end())) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(std::string(where), ": tensor '", std::string(name), "' has shape ",
                                                 ShapeText(actual), ", expected ",
                                                 ShapeText(expected)));
}

absl::StatusOr<at::Tensor> LoadTensor(const st::Checkpoint& checkpoint, std::string_view name,
                                      std::optional<std::span<const int64_t>> expected_shape,
                                      const LoadOptions& options) {
  const st::Checkpoint::Entry* entry = checkpoint.Find(name);
  if (entry == nullptr) {
    return absl::NotFoundError(absl::StrCat("tensor '", std::string(name), "' not found in checkpoint ",
                                            checkpoint.source()));
  }
  if (expected_shape) {
    absl::Status s = CheckShape(entry->file->path(), name, entry->info->shape, *expected_shape);
    if (!s.ok()) return s;
  }
  return ToTensor(entry->file, *entry->info, options);
}

absl::StatusOr<std::map<std::string, at::Tensor>> LoadAll(const st::Checkpoint& checkpoint,
                                                          const LoadOptions& options) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, entry] : checkpoint.entries()) {
    absl::StatusOr<at::Tensor> tensor = ToTensor(entry.file, *entry.info, options);
    if (!tensor.ok()) return tensor.status();
    out.emplace(name, *std::move(tensor));
  }
  return out;
}

absl::StatusOr<st::TensorView> ToView(std::string name, const at::Tensor& tensor) {
  std::string where = absl::StrCat("tensor '", name, "'");
  if (!tensor.defined()) return absl::InvalidArgumentError(absl::StrCat(where, " is undefined"));
  if (!tensor.device().is_cpu()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is on ", tensor.device().str(),
                                                   ", not the CPU"));
  }
  if (tensor.layout() != at::kStrided || !tensor.is_contiguous()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is not a contiguous dense tensor"));
  }
  absl::StatusOr<st::DType> dtype = FromScalarType(tensor.scalar_type());
  if (!dtype.ok()) {
    return absl::UnimplementedError(absl::StrCat(where, ": ", dtype.status().message()));
  }
  st::TensorView view;
  view.name = std::move(name);
  view.dtype = *dtype;
  view.shape.assign(tensor.sizes().begin(), tensor.sizes().end());
  size_t nbytes = tensor.numel() * tensor.element_size();
  if (nbytes > 0) view.data = {static_cast<const std::byte*>(tensor.data_ptr()), nbytes};
  return view;
}

namespace {

// CPU contiguous copies where needed (kept alive in `keep`) and their views.
absl::StatusOr<std::vector<st::TensorView>> Views(const NamedTensors& tensors,
                                                  std::vector<at::Tensor>* keep) {
  std::vector<st::TensorView> views;
  keep->reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' is undefined"));
    }
    try {
      keep->push_back(tensor.detach().to(at::kCPU).contiguous());
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("tensor '", name, "': LibTorch: ",
                                              e.what_without_backtrace()));
    }
    absl::StatusOr<st::TensorView> view = ToView(name, keep->back());
    if (!view.ok()) return view.status();
    views.push_back(*std::move(view));
  }
  return views;
}

}  // namespace

absl::Status SaveFile(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<at::Tensor> keep;
  absl::StatusOr<std::vector<st::TensorView>> views = Views(tensors, &keep);
  if (!views.ok()) return views.status();
  return st::WriteFile(path, *views, metadata);
}

absl::Status SaveSharded(const std::string& dir, const NamedTensors& tensors,
                         uint64_t max_shard_bytes,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<at::Tensor> keep;
  absl::StatusOr<std::vector<st::TensorView>> views = Views(tensors, &keep);
  if (!views.ok()) return views.status();
  return st::WriteSharded(dir, *views, max_shard_bytes, metadata);
}

}  // namespace nmoe::model
