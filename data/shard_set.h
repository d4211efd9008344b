// Opening the token shards that `nmoe-data build-shards` wrote (DIR/index.json).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/token_shard.h"

namespace nmoe::data {

// Paths of the shards of one language and split in DIR/index.json ("languages" ->
// lang -> split -> "shards", relative to DIR), or of the "inputs" set when `lang` is
// empty. NOT_FOUND names what is missing.
absl::StatusOr<std::vector<std::string>> ShardPathsFromIndex(const std::string& dir, const std::string& lang,
                                                             const std::string& split);

// Opens (and validates) every shard; the first error is returned with its path.
absl::StatusOr<std::vector<std::shared_ptr<const TokenShard>>> OpenShards(const std::vector<std::string>& paths,
                                                                          bool verify_checksum = true);

}  // namespace nmoe::data
