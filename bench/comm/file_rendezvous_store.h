// A RendezvousStore (comm/rendezvous_store.h) over a folder that every rank can
// read: lets ranks that are separate processes of one machine form a Gloo
// communicator without a coordinator (benchmarks; the service itself rendezvous
// through the coordinator's KV RPCs). Torch-free.
//
// Each key is one file, written to a temporary name and renamed into place, so a
// reader sees either no file or the whole value. Wait polls every few
// milliseconds. Add serialises through flock(2) on "<dir>/.add.lock". The folder
// must exist and be empty of other stores' keys; nothing is ever deleted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "comm/rendezvous_store.h"

namespace nmoe::bench {

class FileRendezvousStore : public comm::RendezvousStore {
 public:
  explicit FileRendezvousStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  absl::Status Set(const std::string& key, const std::string& value) override;
  absl::StatusOr<std::vector<std::string>> Wait(const std::vector<std::string>& keys, absl::Duration timeout) override;
  absl::StatusOr<int64_t> Add(const std::string& key, int64_t delta) override;

 private:
  // The file of `key`: "k-" + the key with every byte outside [A-Za-z0-9._-]
  // written as %XX (keys hold '/').
  std::filesystem::path KeyPath(const std::string& key) const;
  absl::Status WriteAtomically(const std::filesystem::path& path, const std::string& value);

  std::filesystem::path dir_;
};

}  // namespace nmoe::bench
