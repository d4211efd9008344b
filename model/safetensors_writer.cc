// WriteFile: validated, aligned, atomic safetensors writing.
#include <algorithm>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/safetensors.h"
#include "model/safetensors_fileio.h"
#include "model/safetensors_views.h"

namespace nmoe::safetensors {
namespace {

// True when `text` can be written as a JSON string (valid UTF-8).
bool IsJsonString(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

absl::Status Invalid(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": ", what));
}

absl::Status CheckView(const std::string& path, const TensorView& t, uint64_t* bytes) {
  std::string where = absl::StrCat("tensor '", t.name, "': ");
  if (t.name.empty()) return Invalid(path, "a tensor has an empty name");
  if (t.name == "__metadata__") return Invalid(path, "'__metadata__' is reserved, not a tensor name");
  if (!IsJsonString(t.name)) return Invalid(path, absl::StrCat(where, "name is not valid UTF-8"));
  uint64_t count = 1;
  for (int64_t dim : t.shape) {
    if (dim < 0) {
      return Invalid(path, absl::StrCat(where, "negative dimension in shape [",
                                        absl::StrJoin(t.shape, ", "), "]"));
    }
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) {
      return Invalid(path, absl::StrCat(where, "element count overflows"));
    }
  }
  if (__builtin_mul_overflow(count, DTypeSize(t.dtype), bytes)) {
    return Invalid(path, absl::StrCat(where, "byte size overflows"));
  }
  if (t.data.size() != *bytes) {
    return Invalid(path, absl::StrCat(where, DTypeName(t.dtype), " [", absl::StrJoin(t.shape, ", "),
                                      "] needs ", *bytes, " bytes, got ", t.data.size()));
  }
  return absl::OkStatus();
}

}  // namespace

namespace internal {

absl::StatusOr<std::vector<uint64_t>> CheckViews(const std::string& path,
                                                 std::span<const TensorView> tensors,
                                                 const std::map<std::string, std::string>& metadata) {
  std::vector<uint64_t> bytes(tensors.size());
  std::set<std::string_view> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (absl::Status s = CheckView(path, tensors[i], &bytes[i]); !s.ok()) return s;
    if (!names.insert(tensors[i].name).second) {
      return Invalid(path, absl::StrCat("duplicate tensor name '", tensors[i].name, "'"));
    }
  }
  for (const auto& [key, value] : metadata) {
    if (!IsJsonString(key) || !IsJsonString(value)) {
      return Invalid(path, absl::StrCat("metadata entry '", key, "' is not valid UTF-8"));
    }
  }
  return bytes;
}

}  // namespace internal

absl::Status WriteFile(const std::string& path, std::span<const TensorView> tensors,
                       const std::map<std::string, std::string>& metadata) {
  absl::StatusOr<std::vector<uint64_t>> checked = internal::CheckViews(path, tensors, metadata);
  if (!checked.ok()) return checked.status();
  const std::vector<uint64_t>& bytes = *checked;

  // Largest elements first, then by name: every tensor starts aligned to its element size
  // because the data section starts 8-aligned and every size is a multiple of the next.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    size_t sa = DTypeSize(tensors[a].dtype), sb = DTypeSize(tensors[b].dtype);
    if (sa != sb) return sa > sb;
    return tensors[a].name < tensors[b].name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (size_t i : order) {
    const TensorView& t = tensors[i];
    header[t.name] = {{"dtype", DTypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes[i]}}};
    offset += bytes[i];
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-aligned
  if (text.size() > kMaxHeaderBytes) {
    return Invalid(path, absl::StrCat("header of ", text.size(), " bytes exceeds the limit"));
  }

  return internal::ReplaceFileAtomically(path, [&](int fd) -> absl::Status {
    std::byte length[8];
    for (int i = 0; i < 8; ++i) length[i] = std::byte((text.size() >> (8 * i)) & 0xff);
    if (absl::Status s = internal::WriteAll(fd, length, path); !s.ok()) return s;
    if (absl::Status s = internal::WriteAll(fd, std::as_bytes(std::span(text)), path); !s.ok()) {
      return s;
    }
    for (size_t i : order) {
      if (absl::Status s = internal::WriteAll(fd, tensors[i].data, path); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

}  // namespace nmoe::safetensors
