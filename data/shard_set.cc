#include "data/shard_set.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace nmoe::data {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<std::string>> ShardPathsFromIndex(const std::string& dir, const std::string& lang,
                                                             const std::string& split) {
  const fs::path index_path = fs::path(dir) / "index.json";
  std::ifstream in(index_path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", index_path.string()));
  nlohmann::json index = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(index_path.string(), ": invalid JSON"));
  const nlohmann::json* set = nullptr;
  std::string what;
  if (lang.empty()) {
    what = "\"inputs\"";
    if (index.contains("inputs")) set = &index["inputs"];
  } else {
    what = absl::StrCat("languages/", lang, "/", split);
    if (index.contains("languages") && index["languages"].contains(lang) && index["languages"][lang].contains(split)) {
      set = &index["languages"][lang][split];
    }
  }
  if (set == nullptr || !set->contains("shards") || !(*set)["shards"].is_array()) {
    return absl::NotFoundError(absl::StrCat(index_path.string(), " has no shard list at ", what));
  }
  std::vector<std::string> paths;
  for (const auto& s : (*set)["shards"]) {
    if (!s.is_string()) return absl::InvalidArgumentError(absl::StrCat(index_path.string(), ": non-string shard path"));
    paths.push_back((fs::path(dir) / s.get<std::string>()).string());
  }
  return paths;
}

absl::StatusOr<std::vector<std::shared_ptr<const TokenShard>>> OpenShards(const std::vector<std::string>& paths,
                                                                          bool verify_checksum) {
  std::vector<std::shared_ptr<const TokenShard>> shards;
  for (const std::string& path : paths) {
    auto shard = TokenShard::Open(path, verify_checksum);
    if (!shard.ok()) return shard.status();
    shards.push_back(std::shared_ptr<const TokenShard>(std::move(*shard)));
  }
  return shards;
}

}  // namespace nmoe::data
