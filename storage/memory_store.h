// In-memory KvStore: same ordering and batch semantics as RocksDbStore,
// nothing persisted. Thread-safe.
#pragma once

#include <array>
#include <map>
#include <mutex>

#include "storage/kv_store.h"

namespace nmoe::storage {

class MemoryStore final : public KvStore {
 public:
  absl::Status Write(const WriteBatch& batch, bool sync) override;
  absl::StatusOr<std::optional<std::string>> Get(Table table, std::string_view key) override;
  absl::Status Scan(Table table, const ScanOptions& options, const ScanVisitor& visit) override;
  absl::Status Sync() override { return absl::OkStatus(); }

 private:
  std::mutex mu_;
  std::array<std::map<std::string, std::string, std::less<>>, static_cast<size_t>(Table::kCount)> tables_;
};

}  // namespace nmoe::storage
