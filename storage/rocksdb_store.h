// KvStore on RocksDB: one column family per Table, atomic WriteBatch, synced
// write-ahead log on request. Opening creates the folder and any missing
// column family; a database that cannot be opened (corrupt, locked by another
// process) gives an error naming the folder and RocksDB's reason.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/kv_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace nmoe::storage {

class RocksDbStore final : public KvStore {
 public:
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(const std::string& path);
  ~RocksDbStore() override;  // flushes and closes cleanly

  absl::Status Write(const WriteBatch& batch, bool sync) override;
  absl::StatusOr<std::optional<std::string>> Get(Table table, std::string_view key) override;
  absl::Status Scan(Table table, const ScanOptions& options, const ScanVisitor& visit) override;
  absl::Status Sync() override;

  // Flushes memtables and closes the database; later calls fail. Idempotent.
  absl::Status Close();

 private:
  RocksDbStore() = default;
  rocksdb::ColumnFamilyHandle* Handle(Table table) const;

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // index = Table; [kCount] = default
};

}  // namespace nmoe::storage
