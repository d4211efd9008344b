#include "storage/rocksdb_store.h"

#include <filesystem>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"

namespace nmoe::storage {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create database folder ", path, ": ", ec.message()));

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  db_options.paranoid_checks = true;

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.OptimizeLevelStyleCompaction(32 << 20);

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int t = 0; t < static_cast<int>(Table::kCount); ++t) {
    families.emplace_back(std::string(TableName(static_cast<Table>(t))), cf_options);
  }
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);

  std::unique_ptr<RocksDbStore> store(new RocksDbStore());
  store->path_ = path;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, families, &store->handles_, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("cannot open database ", path));
  store->db_.reset(raw);
  return store;
}

RocksDbStore::~RocksDbStore() { (void)Close(); }

absl::Status RocksDbStore::Close() {
  if (!db_) return absl::OkStatus();
  absl::Status result = FromRocks(db_->FlushWAL(/*sync=*/true), "flush log");
  for (auto* h : handles_) {
    auto s = db_->DestroyColumnFamilyHandle(h);
    if (result.ok() && !s.ok()) result = FromRocks(s, "close column family");
  }
  handles_.clear();
  auto s = db_->Close();
  if (result.ok() && !s.ok()) result = FromRocks(s, "close database");
  db_.reset();
  return result;
}

rocksdb::ColumnFamilyHandle* RocksDbStore::Handle(Table table) const {
  return handles_[static_cast<size_t>(table)];
}

absl::Status RocksDbStore::Write(const WriteBatch& batch, bool sync) {
  if (!db_) return absl::FailedPreconditionError("database is closed");
  rocksdb::WriteBatch wb;
  for (const auto& op : batch.ops()) {
    rocksdb::Status s = op.value                ? wb.Put(Handle(op.table), op.key, *op.value)
                        : op.range_end.empty() ? wb.Delete(Handle(op.table), op.key)
                                               : wb.DeleteRange(Handle(op.table), op.key, op.range_end);
    if (!s.ok()) return FromRocks(s, "build write batch");
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  return FromRocks(db_->Write(options, &wb), absl::StrCat("write to ", path_));
}

absl::Status RocksDbStore::Sync() {
  if (!db_) return absl::FailedPreconditionError("database is closed");
  return FromRocks(db_->SyncWAL(), absl::StrCat("sync log of ", path_));
}

absl::StatusOr<std::optional<std::string>> RocksDbStore::Get(Table table, std::string_view key) {
  if (!db_) return absl::FailedPreconditionError("database is closed");
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(table), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, absl::StrCat("read ", TableName(table)));
  return std::optional<std::string>(std::move(value));
}

absl::Status RocksDbStore::Scan(Table table, const ScanOptions& options, const ScanVisitor& visit) {
  if (!db_) return absl::FailedPreconditionError("database is closed");
  rocksdb::ReadOptions read_options;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, Handle(table)));
  const rocksdb::Slice start(options.start), end(options.end);
  size_t seen = 0;
  auto in_range = [&](const rocksdb::Slice& k) {
    if (!options.end.empty() && k.compare(end) >= 0) return false;
    if (!options.start.empty() && k.compare(start) < 0) return false;
    return true;
  };
  if (options.reverse) {
    if (options.end.empty()) it->SeekToLast(); else it->SeekForPrev(end);
    // SeekForPrev lands on `end` itself when present: it is exclusive.
    if (it->Valid() && !options.end.empty() && it->key().compare(end) >= 0) it->Prev();
  } else {
    if (options.start.empty()) it->SeekToFirst(); else it->Seek(start);
  }
  for (; it->Valid(); options.reverse ? it->Prev() : it->Next()) {
    if (!in_range(it->key())) break;
    if (options.limit && seen >= options.limit) break;
    ++seen;
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), absl::StrCat("scan ", TableName(table)));
}

}  // namespace nmoe::storage
