// Checkpoint::Open: a single safetensors file or an index with its shards, cross-checked.
#include "model/checkpoint_index.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/safetensors_json.h"

namespace nmoe::safetensors {

namespace fs = std::filesystem;

// Builds a Checkpoint (a friend, so the validation lives outside the public class).
class CheckpointLoader {
 public:
  static absl::StatusOr<std::unique_ptr<Checkpoint>> FromFile(const std::string& path) {
    absl::StatusOr<std::shared_ptr<const File>> file = File::Open(path);
    if (!file.ok()) return file.status();
    std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
    checkpoint->source_ = path;
    checkpoint->files_.push_back(*file);
    for (const TensorInfo& info : (*file)->tensors()) {
      checkpoint->entries_[info.name] = Checkpoint::Entry{*file, &info};
    }
    return checkpoint;
  }

  static absl::StatusOr<std::unique_ptr<Checkpoint>> FromIndex(const std::string& path);
};

namespace {

absl::Status IndexError(const std::string& index, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(index, ": ", what));
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("cannot read ", path));
  if (size > kMaxHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", size, " bytes, over the ", kMaxHeaderBytes, "-byte limit"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return text.str();
}

// A shard name must name a file in the index's folder: no separators, no "..".
absl::Status CheckShardName(const std::string& index, const std::string& tensor,
                            const std::string& shard) {
  bool plain = !shard.empty() && shard.find('/') == std::string::npos &&
               shard.find('\\') == std::string::npos && shard.find('\0') == std::string::npos &&
               shard != "." && shard != "..";
  if (!plain) {
    return IndexError(index, absl::StrCat("tensor '", tensor, "' maps to '", shard,
                                          "', which is not a plain file name in the index's "
                                          "folder"));
  }
  if (!absl::EndsWith(shard, ".safetensors")) {
    return IndexError(index, absl::StrCat("tensor '", tensor, "' maps to '", shard,
                                          "', which does not end in .safetensors"));
  }
  return absl::OkStatus();
}

absl::Status ParseIndexMetadata(const std::string& index, const nlohmann::json& value,
                                std::map<std::string, std::string>* out) {
  if (!value.is_object()) {
    return IndexError(index, absl::StrCat("\"metadata\" must be an object, got ",
                                          internal::Brief(value)));
  }
  for (const auto& [key, item] : value.items()) {
    if (key == "total_size" && !(item.is_number_unsigned() ||
                                 (item.is_number_integer() && item.get<int64_t>() >= 0))) {
      return IndexError(index, absl::StrCat("metadata.total_size must be a non-negative integer, "
                                            "got ", internal::Brief(item)));
    }
    if (item.is_structured()) {
      return IndexError(index, absl::StrCat("metadata.", key, " must be a scalar, got ",
                                            internal::Brief(item)));
    }
    (*out)[key] = item.is_string() ? item.get<std::string>() : item.dump();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Checkpoint>> CheckpointLoader::FromIndex(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<nlohmann::json> index = internal::ParseStrictJson(*text, path);
  if (!index.ok()) return index.status();
  if (!index->is_object()) return IndexError(path, "not a JSON object");

  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  checkpoint->source_ = path;
  checkpoint->sharded_ = true;
  if (auto it = index->find("metadata"); it != index->end()) {
    if (absl::Status s = ParseIndexMetadata(path, *it, &checkpoint->index_metadata_); !s.ok()) {
      return s;
    }
  }
  auto map_it = index->find("weight_map");
  if (map_it == index->end()) return IndexError(path, "no \"weight_map\"");
  const nlohmann::json& weight_map = *map_it;
  if (!weight_map.is_object()) {
    return IndexError(path, absl::StrCat("\"weight_map\" must be an object, got ",
                                         internal::Brief(weight_map)));
  }
  if (weight_map.empty()) return IndexError(path, "\"weight_map\" is empty");

  // Check every name first, then open each shard once (in name order).
  std::map<std::string, std::string> shard_of;  // tensor -> shard
  std::map<std::string, std::shared_ptr<const File>> shards;
  for (const auto& [tensor, shard] : weight_map.items()) {
    if (!shard.is_string()) {
      return IndexError(path, absl::StrCat("tensor '", tensor, "' maps to ",
                                           internal::Brief(shard), ", not a file name"));
    }
    const std::string& name = shard.get_ref<const std::string&>();
    if (absl::Status s = CheckShardName(path, tensor, name); !s.ok()) return s;
    shard_of[tensor] = name;
    shards[name] = nullptr;
  }
  fs::path folder = fs::path(path).parent_path();
  for (auto& [name, file] : shards) {
    absl::StatusOr<std::shared_ptr<const File>> opened = File::Open((folder / name).string());
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat(path, ": shard '", name, "': ", opened.status().message()));
    }
    file = *opened;
    checkpoint->files_.push_back(file);
  }
  for (const auto& [tensor, shard] : shard_of) {
    const std::shared_ptr<const File>& file = shards[shard];
    const TensorInfo* info = file->Find(tensor);
    if (info == nullptr) {
      return IndexError(path, absl::StrCat("tensor '", tensor, "' is listed in shard '", shard,
                                           "' but that shard does not hold it"));
    }
    checkpoint->entries_[tensor] = Checkpoint::Entry{file, info};
  }
  for (const auto& [shard, file] : shards) {
    for (const TensorInfo& info : file->tensors()) {
      auto it = shard_of.find(info.name);
      if (it == shard_of.end()) {
        return IndexError(path, absl::StrCat("shard '", shard, "' holds tensor '", info.name,
                                             "', which the index does not list"));
      }
      if (it->second != shard) {
        return IndexError(path, absl::StrCat("tensor '", info.name, "' is in shard '", shard,
                                             "' and in shard '", it->second,
                                             "' (the index lists the latter)"));
      }
    }
  }
  return checkpoint;
}

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("no checkpoint at ", path));
  }
  if (!fs::is_directory(status)) {
    if (absl::EndsWith(path, ".json")) return CheckpointLoader::FromIndex(path);
    return CheckpointLoader::FromFile(path);
  }
  std::string single = (fs::path(path) / kSingleFileName).string();
  std::string index = (fs::path(path) / kIndexFileName).string();
  bool has_single = fs::exists(single, ec);
  bool has_index = fs::exists(index, ec);
  if (has_single && has_index) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": holds both ", kSingleFileName, " and ", kIndexFileName,
                     ": ambiguous (one is stale; remove it)"));
  }
  if (has_single) return CheckpointLoader::FromFile(single);
  if (has_index) return CheckpointLoader::FromIndex(index);
  return absl::NotFoundError(absl::StrCat(path, ": no ", kSingleFileName, " or ", kIndexFileName));
}

const Checkpoint::Entry* Checkpoint::Find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace nmoe::safetensors
