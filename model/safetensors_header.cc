// Parsing and validating a safetensors file image: header length, JSON header, every
// tensor entry, and the tiling of the data section by the tensors.
#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/safetensors.h"
#include "model/safetensors_json.h"

namespace nmoe::safetensors {
namespace {

using nlohmann::json;

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::string RangeText(uint64_t begin, uint64_t end) {
  return absl::StrCat("[", begin, ", ", end, "]");
}

// Reads a JSON integer in [0, max]; nullopt for anything else (floats, negatives, ...).
std::optional<uint64_t> NonNegativeInt(const json& value, uint64_t max) {
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v <= max) return v;
  } else if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v >= 0 && static_cast<uint64_t>(v) <= max) return static_cast<uint64_t>(v);
  }
  return std::nullopt;
}

class HeaderParser {
 public:
  HeaderParser(const std::string& label, uint64_t data_size) : label_(label), data_size_(data_size) {}

  absl::Status Error(const std::string& tensor, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(label_, ": tensor '", tensor, "': ", what));
  }

  absl::Status ParseMetadata(const json& value, std::map<std::string, std::string>* out) const {
    if (!value.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          label_, ": __metadata__ must be an object of strings, got ", internal::Brief(value)));
    }
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(label_, ": __metadata__ key '", key,
                                                       "' has a non-string value ",
                                                       internal::Brief(item)));
      }
      (*out)[key] = item.get<std::string>();
    }
    return absl::OkStatus();
  }

  absl::Status ParseShape(const std::string& name, const json& value, TensorInfo* info) const {
    if (!value.is_array()) {
      return Error(name, absl::StrCat("shape must be a list of integers, got ",
                                      internal::Brief(value)));
    }
    for (const json& dim : value) {
      if (dim.is_number_integer() && !dim.is_number_unsigned() && dim.get<int64_t>() < 0) {
        return Error(name, absl::StrCat("shape ", internal::Brief(value),
                                        " has a negative dimension"));
      }
      std::optional<uint64_t> v = NonNegativeInt(dim, INT64_MAX);
      if (!v) {
        return Error(name, absl::StrCat("shape ", internal::Brief(value),
                                        " has a dimension that is not an integer in [0, 2^63)"));
      }
      info->shape.push_back(static_cast<int64_t>(*v));
    }
    return absl::OkStatus();
  }

  absl::Status ParseOffsets(const std::string& name, const json& value, TensorInfo* info) const {
    std::optional<uint64_t> begin, end;
    if (value.is_array() && value.size() == 2) {
      begin = NonNegativeInt(value[0], UINT64_MAX);
      end = NonNegativeInt(value[1], UINT64_MAX);
    }
    if (!begin || !end) {
      return Error(name, absl::StrCat("data_offsets must be two non-negative integers, got ",
                                      internal::Brief(value)));
    }
    if (*end < *begin) {
      return Error(name, absl::StrCat("data_offsets ", RangeText(*begin, *end),
                                      " end before they begin"));
    }
    info->data_begin = *begin;
    info->data_end = *end;
    return absl::OkStatus();
  }

  absl::Status ParseTensor(const std::string& name, const json& entry, TensorInfo* info) const {
    info->name = name;
    if (!entry.is_object()) {
      return Error(name, absl::StrCat("entry must be an object, got ", internal::Brief(entry)));
    }
    for (const auto& [key, unused] : entry.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") {
        return Error(name, absl::StrCat("unknown field '", key, "'"));
      }
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(key)) return Error(name, absl::StrCat("missing field '", key, "'"));
    }
    const json& dtype = entry["dtype"];
    if (!dtype.is_string()) {
      return Error(name, absl::StrCat("dtype must be a string, got ", internal::Brief(dtype)));
    }
    std::optional<DType> parsed = ParseDType(dtype.get_ref<const std::string&>());
    if (!parsed) return Error(name, absl::StrCat("unknown dtype ", internal::Brief(dtype)));
    info->dtype = *parsed;
    if (absl::Status s = ParseShape(name, entry["shape"], info); !s.ok()) return s;
    if (absl::Status s = ParseOffsets(name, entry["data_offsets"], info); !s.ok()) return s;

    uint64_t count = 1;
    for (int64_t dim : info->shape) {
      if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) {
        return Error(name, absl::StrCat("shape ", ShapeText(info->shape),
                                        " has 2^64 or more elements"));
      }
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(count, DTypeSize(info->dtype), &bytes)) {
      return Error(name, absl::StrCat("shape ", ShapeText(info->shape), " of ",
                                      DTypeName(info->dtype), " needs 2^64 or more bytes"));
    }
    if (info->num_bytes() != bytes) {
      return Error(name, absl::StrCat("data_offsets ", RangeText(info->data_begin, info->data_end),
                                      " hold ", info->num_bytes(), " bytes but ",
                                      DTypeName(info->dtype), " ", ShapeText(info->shape),
                                      " needs ", bytes));
    }
    if (info->data_end > data_size_) {
      return Error(name, absl::StrCat("data_offsets ", RangeText(info->data_begin, info->data_end),
                                      " extend past the data section (", data_size_,
                                      " bytes): truncated file?"));
    }
    return absl::OkStatus();
  }

  // The tensors must tile the data section exactly: sorted by offset, each starts where
  // the previous ends, the last ends at the end of the file. Overlaps would alias two
  // tensors; holes and trailing bytes could hide a second payload (a polyglot file). The
  // format's reference implementation rejects all three.
  absl::Status CheckTiling(std::vector<TensorInfo>& tensors) const {
    std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
      return std::tie(a.data_begin, a.data_end, a.name) <
             std::tie(b.data_begin, b.data_end, b.name);
    });
    uint64_t cursor = 0;
    const TensorInfo* previous = nullptr;
    for (const TensorInfo& t : tensors) {
      if (t.data_begin < cursor) {
        return Error(t.name, absl::StrCat("data_offsets ", RangeText(t.data_begin, t.data_end),
                                          " overlap tensor '", previous->name, "' ",
                                          RangeText(previous->data_begin, previous->data_end)));
      }
      if (t.data_begin > cursor) {
        return Error(t.name, absl::StrCat("data_offsets ", RangeText(t.data_begin, t.data_end),
                                          " leave bytes [", cursor, ", ", t.data_begin,
                                          ") of the data section unused (a hole)"));
      }
      cursor = t.data_end;
      previous = &t;
    }
    if (cursor != data_size_) {
      return absl::InvalidArgumentError(absl::StrCat(
          label_, ": ", data_size_ - cursor, " bytes after the last tensor's data (data section [",
          cursor, ", ", data_size_, ") unused)"));
    }
    return absl::OkStatus();
  }

 private:
  const std::string& label_;
  uint64_t data_size_;
};

}  // namespace

absl::StatusOr<ParsedHeader> ParseFileImage(std::span<const std::byte> image,
                                            const std::string& label) {
  if (image.size() < 8) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": file is ", image.size(),
                                                   " bytes, shorter than the 8-byte header length"));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<uint64_t>(image[i]);
  if (n > kMaxHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": header length ", n, " exceeds the ",
                                                   kMaxHeaderBytes, "-byte limit"));
  }
  if (n > image.size() - 8) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": header length ", n,
                                                   " runs past the end of the file (",
                                                   image.size(), " bytes): truncated file?"));
  }
  std::string_view text(reinterpret_cast<const char*>(image.data()) + 8, n);
  if (text.empty() || text.front() != '{') {
    return absl::InvalidArgumentError(absl::StrCat(label, ": header does not start with '{'"));
  }
  std::string header_label = absl::StrCat(label, ": header");
  absl::StatusOr<nlohmann::json> header = internal::ParseStrictJson(text, header_label);
  if (!header.ok()) return header.status();
  if (!header->is_object()) {  // unreachable after the '{' check; kept as a guard
    return absl::InvalidArgumentError(absl::StrCat(header_label, " is not a JSON object"));
  }

  ParsedHeader parsed;
  parsed.header_size = n;
  HeaderParser parser(label, image.size() - 8 - n);
  for (const auto& [key, value] : header->items()) {
    if (key == "__metadata__") {
      if (absl::Status s = parser.ParseMetadata(value, &parsed.metadata); !s.ok()) return s;
      continue;
    }
    TensorInfo& info = parsed.tensors.emplace_back();
    if (absl::Status s = parser.ParseTensor(key, value, &info); !s.ok()) return s;
  }
  if (absl::Status s = parser.CheckTiling(parsed.tensors); !s.ok()) return s;
  return parsed;
}

}  // namespace nmoe::safetensors
