// RocksDbStore specifics: persistence, locking, closing.
#include "storage/rocksdb_store.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/test_stores.h"

namespace nmoe::storage {
namespace {

using ::testing::HasSubstr;

absl::Status PutOne(KvStore& kv, Table table, const std::string& key, const std::string& value, bool sync) {
  WriteBatch batch;
  batch.Put(table, key, value);
  return kv.Write(batch, sync);
}

std::optional<std::string> GetOne(KvStore& kv, Table table, const std::string& key) {
  auto value = kv.Get(table, key);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : std::nullopt;
}

TEST(RocksDbStoreTest, OpenCreatesNestedFolders) {
  testing::TempDir dir;
  const std::string path = dir.file("a/b/c");
  auto store = RocksDbStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(path) / "CURRENT"));
}

TEST(RocksDbStoreTest, DataSurvivesCloseAndReopen) {
  testing::TempDir dir;
  const std::string path = dir.file("db");
  {
    auto store = RocksDbStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch batch;
    batch.Put(Table::kJobs, "job-1", "synced");
    batch.Put(Table::kNeurons, std::string("s/\0\xff", 5), "binary");
    ASSERT_TRUE((*store)->Write(batch, /*sync=*/true).ok());
    // Unsynced writes survive a clean close too.
    ASSERT_TRUE(PutOne(**store, Table::kEvents, "job-1/1", "unsynced", /*sync=*/false).ok());
    ASSERT_TRUE(PutOne(**store, Table::kMeta, "gone", "x", /*sync=*/false).ok());
    WriteBatch del;
    del.Delete(Table::kMeta, "gone");
    ASSERT_TRUE((*store)->Write(del, /*sync=*/false).ok());
    ASSERT_TRUE((*store)->Close().ok());
  }
  {
    auto store = RocksDbStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(GetOne(**store, Table::kJobs, "job-1"), "synced");
    EXPECT_EQ(GetOne(**store, Table::kNeurons, std::string("s/\0\xff", 5)), "binary");
    EXPECT_EQ(GetOne(**store, Table::kEvents, "job-1/1"), "unsynced");
    EXPECT_EQ(GetOne(**store, Table::kMeta, "gone"), std::nullopt);
    // The tables are still separate after a reopen.
    EXPECT_EQ(GetOne(**store, Table::kWorkers, "job-1"), std::nullopt);
    ASSERT_TRUE(PutOne(**store, Table::kWorkers, "w-1", "second session", /*sync=*/true).ok());
    // No explicit Close: the destructor closes.
  }
  {
    auto store = RocksDbStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(GetOne(**store, Table::kJobs, "job-1"), "synced");
    EXPECT_EQ(GetOne(**store, Table::kWorkers, "w-1"), "second session");
    int rows = 0;
    ASSERT_TRUE((*store)->Scan(Table::kEvents, {}, [&](std::string_view, std::string_view) {
      ++rows;
      return true;
    }).ok());
    EXPECT_EQ(rows, 1);
  }
}

TEST(RocksDbStoreTest, SecondOpenOfTheSameFolderFailsWithTheLockNamed) {
  testing::TempDir dir;
  const std::string path = dir.file("db");
  auto first = RocksDbStore::Open(path);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = RocksDbStore::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("cannot open database " + path));
  EXPECT_THAT(second.status().message(), HasSubstr("LOCK"));
  // The first store is unaffected.
  ASSERT_TRUE(PutOne(**first, Table::kJobs, "k", "v", /*sync=*/true).ok());
  EXPECT_EQ(GetOne(**first, Table::kJobs, "k"), "v");
  // Once the first closes, the folder opens again.
  ASSERT_TRUE((*first)->Close().ok());
  auto third = RocksDbStore::Open(path);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(GetOne(**third, Table::kJobs, "k"), "v");
}

TEST(RocksDbStoreTest, OpenFailsWhenThePathIsAFile) {
  testing::TempDir dir;
  const std::string path = dir.file("file");
  std::ofstream(path) << "not a database";
  auto store = RocksDbStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(RocksDbStoreTest, CloseIsIdempotentAndLaterCallsFail) {
  testing::TempDir dir;
  auto store = RocksDbStore::Open(dir.file("db"));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(PutOne(**store, Table::kJobs, "k", "v", /*sync=*/false).ok());
  ASSERT_TRUE((*store)->Close().ok());
  EXPECT_TRUE((*store)->Close().ok());
  EXPECT_EQ(PutOne(**store, Table::kJobs, "k", "v", true).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store)->Get(Table::kJobs, "k").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store)->Scan(Table::kJobs, {}, [](std::string_view, std::string_view) { return true; }).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace nmoe::storage
