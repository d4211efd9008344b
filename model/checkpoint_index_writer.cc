// WriteSharded: a checkpoint's weights in the Hugging Face layout.
#include <stdio.h>

#include <filesystem>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "model/checkpoint_index.h"
#include "model/safetensors_fileio.h"
#include "model/safetensors_views.h"

namespace nmoe::safetensors {

namespace fs = std::filesystem;

std::string ShardFileName(int index, int count) {
  char name[64];
  snprintf(name, sizeof(name), "model-%05d-of-%05d.safetensors", index, count);
  return name;
}

namespace {

// Removes weight files of an earlier save that are not in `keep`: model.safetensors,
// the index, and model-NNNNN-of-NNNNN.safetensors shards.
absl::Status RemoveStale(const fs::path& dir, const std::set<std::string>& keep) {
  static const std::regex kShard("model-[0-9]{5}-of-[0-9]{5}\\.safetensors");
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    bool weights = name == kSingleFileName || name == kIndexFileName ||
                   std::regex_match(name, kShard);
    if (!weights || keep.count(name) > 0) continue;
    if (!fs::remove(entry.path(), ec) && ec) {
      return absl::ErrnoToStatus(ec.value(), absl::StrCat("cannot remove stale ", entry.path().string()));
    }
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("cannot list ", dir.string()));
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteSharded(const std::string& dir, std::span<const TensorView> tensors,
                          uint64_t max_shard_bytes,
                          const std::map<std::string, std::string>& metadata) {
  if (max_shard_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", dir, ": max_shard_bytes is 0"));
  }
  std::map<std::string, std::string> shard_metadata = metadata;
  shard_metadata.emplace("format", "pt");
  // Validate everything before the first file is written.
  absl::StatusOr<std::vector<uint64_t>> bytes = internal::CheckViews(dir, tensors, shard_metadata);
  if (!bytes.ok()) return bytes.status();

  std::vector<std::vector<TensorView>> shards;
  uint64_t current = 0, total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    uint64_t b = (*bytes)[i];
    if (shards.empty() || (!shards.back().empty() && current + b > max_shard_bytes)) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(tensors[i]);
    current += b;
    total += b;
  }
  if (shards.empty()) shards.emplace_back();  // no tensors: one empty file

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("cannot create ", dir));
  fs::path folder(dir);

  if (shards.size() == 1) {
    std::string name(kSingleFileName);
    if (absl::Status s = WriteFile((folder / name).string(), shards[0], shard_metadata); !s.ok()) {
      return s;
    }
    return RemoveStale(folder, {name});
  }

  int count = static_cast<int>(shards.size());
  std::set<std::string> keep = {std::string(kIndexFileName)};
  nlohmann::json weight_map = nlohmann::json::object();
  for (int i = 0; i < count; ++i) {
    std::string name = ShardFileName(i + 1, count);
    keep.insert(name);
    if (absl::Status s = WriteFile((folder / name).string(), shards[i], shard_metadata); !s.ok()) {
      return s;
    }
    for (const TensorView& t : shards[i]) weight_map[t.name] = name;
  }
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  std::string text = index.dump(2) + "\n";
  std::string index_path = (folder / kIndexFileName).string();
  absl::Status written = internal::ReplaceFileAtomically(index_path, [&](int fd) {
    return internal::WriteAll(fd, std::as_bytes(std::span(text)), index_path);
  });
  if (!written.ok()) return written;
  return RemoveStale(folder, keep);
}

}  // namespace nmoe::safetensors
