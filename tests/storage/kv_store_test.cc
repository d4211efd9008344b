// The KvStore contract, run against every implementation.
#include "storage/kv_store.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/test_stores.h"

namespace nmoe::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::Backends;
using testing::BackendName;
using Rows = std::vector<std::pair<std::string, std::string>>;

template <typename Backend>
class KvStoreTest : public testing::StoreTest<Backend> {
 protected:
  void Put(Table table, const std::string& key, const std::string& value) {
    WriteBatch batch;
    batch.Put(table, key, value);
    ASSERT_TRUE(this->kv().Write(batch, /*sync=*/false).ok());
  }
  std::optional<std::string> Get(Table table, const std::string& key) {
    auto value = this->kv().Get(table, key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::nullopt;
  }
  Rows Scan(Table table, const ScanOptions& options) {
    Rows rows;
    auto s = this->kv().Scan(table, options, [&](std::string_view k, std::string_view v) {
      rows.emplace_back(std::string(k), std::string(v));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return rows;
  }
  std::vector<std::string> Keys(Table table, const ScanOptions& options) {
    std::vector<std::string> keys;
    for (auto& [k, v] : Scan(table, options)) keys.push_back(k);
    return keys;
  }
  // Keys "a".."e" in kPlans with values "A".."E".
  void FillAtoE() {
    WriteBatch batch;
    for (char c = 'a'; c <= 'e'; ++c) batch.Put(Table::kPlans, std::string(1, c), std::string(1, c - 'a' + 'A'));
    ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  }
};
TYPED_TEST_SUITE(KvStoreTest, Backends, BackendName);

TYPED_TEST(KvStoreTest, GetOfAbsentKeyIsNullopt) {
  auto value = this->kv().Get(Table::kJobs, "nope");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_FALSE(value->has_value());
}

TYPED_TEST(KvStoreTest, PutGetOverwriteDelete) {
  this->Put(Table::kJobs, "job-1", "v1");
  EXPECT_EQ(this->Get(Table::kJobs, "job-1"), "v1");
  this->Put(Table::kJobs, "job-1", "v2");
  EXPECT_EQ(this->Get(Table::kJobs, "job-1"), "v2");

  WriteBatch del;
  del.Delete(Table::kJobs, "job-1");
  ASSERT_TRUE(this->kv().Write(del, /*sync=*/true).ok());
  EXPECT_EQ(this->Get(Table::kJobs, "job-1"), std::nullopt);

  // Deleting an absent key is not an error.
  WriteBatch del_again;
  del_again.Delete(Table::kJobs, "job-1");
  EXPECT_TRUE(this->kv().Write(del_again, /*sync=*/false).ok());
}

TYPED_TEST(KvStoreTest, EmptyValuesAndBinaryBytesArePreserved) {
  const std::string key("k\0\xff", 3);
  const std::string value("\0\x01\xfe\xff", 4);
  this->Put(Table::kMeta, key, value);
  this->Put(Table::kMeta, "empty", "");
  EXPECT_EQ(this->Get(Table::kMeta, key), value);
  EXPECT_EQ(this->Get(Table::kMeta, std::string("k\0", 2)), std::nullopt);
  auto empty = this->Get(Table::kMeta, "empty");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
}

TYPED_TEST(KvStoreTest, TablesAreSeparateNamespaces) {
  this->Put(Table::kJobs, "same", "job");
  this->Put(Table::kWorkers, "same", "worker");
  EXPECT_EQ(this->Get(Table::kJobs, "same"), "job");
  EXPECT_EQ(this->Get(Table::kWorkers, "same"), "worker");
  EXPECT_EQ(this->Get(Table::kEvents, "same"), std::nullopt);
  EXPECT_THAT(this->Scan(Table::kWorkers, {}), ElementsAre(Pair("same", "worker")));
  EXPECT_THAT(this->Scan(Table::kTasks, {}), IsEmpty());
}

TYPED_TEST(KvStoreTest, BatchAppliesAcrossAllTables) {
  this->Put(Table::kMeta, "old", "x");
  WriteBatch batch;
  for (int t = 0; t < static_cast<int>(Table::kCount); ++t) {
    batch.Put(static_cast<Table>(t), "k", TableName(static_cast<Table>(t)));
  }
  batch.Delete(Table::kMeta, "old");
  EXPECT_FALSE(batch.empty());
  EXPECT_EQ(batch.ops().size(), static_cast<size_t>(Table::kCount) + 1);
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  for (int t = 0; t < static_cast<int>(Table::kCount); ++t) {
    EXPECT_EQ(this->Get(static_cast<Table>(t), "k"), TableName(static_cast<Table>(t))) << t;
  }
  EXPECT_EQ(this->Get(Table::kMeta, "old"), std::nullopt);
}

TYPED_TEST(KvStoreTest, LaterOpsInABatchWin) {
  this->Put(Table::kJobs, "b", "before");
  WriteBatch batch;
  batch.Put(Table::kJobs, "a", "1");
  batch.Put(Table::kJobs, "a", "2");
  batch.Delete(Table::kJobs, "b");
  batch.Put(Table::kJobs, "b", "after");
  batch.Put(Table::kJobs, "c", "3");
  batch.Delete(Table::kJobs, "c");
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/false).ok());
  EXPECT_THAT(this->Scan(Table::kJobs, {}), ElementsAre(Pair("a", "2"), Pair("b", "after")));
}

TYPED_TEST(KvStoreTest, EmptyBatchIsAccepted) {
  WriteBatch batch;
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
}

TYPED_TEST(KvStoreTest, ReadersNeverSeeHalfABatch) {
  // Each batch sets keys "x" and "y" of one table to the same counter; a scan
  // (one consistent read) must always see them equal.
  this->Put(Table::kTasks, "x", "0");
  this->Put(Table::kTasks, "y", "0");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 1; i <= 2000 && !stop; ++i) {
      WriteBatch batch;
      batch.Put(Table::kTasks, "x", absl::StrCat(i));
      batch.Put(Table::kTasks, "y", absl::StrCat(i));
      ASSERT_TRUE(this->kv().Write(batch, /*sync=*/false).ok());
    }
  });
  int mismatches = 0;
  for (int i = 0; i < 2000; ++i) {
    Rows rows = this->Scan(Table::kTasks, {});
    ASSERT_EQ(rows.size(), 2u);
    if (rows[0].second != rows[1].second) ++mismatches;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(this->Get(Table::kTasks, "x"), this->Get(Table::kTasks, "y"));
}

TYPED_TEST(KvStoreTest, ScanOfEmptyTableVisitsNothing) {
  int visits = 0;
  ScanOptions reverse;
  reverse.reverse = true;
  for (const ScanOptions& options : {ScanOptions{}, reverse}) {
    ASSERT_TRUE(this->kv().Scan(Table::kEvents, options, [&](std::string_view, std::string_view) {
      ++visits;
      return true;
    }).ok());
  }
  EXPECT_EQ(visits, 0);
}

TYPED_TEST(KvStoreTest, ScanForwardInByteOrder) {
  // Byte order, unsigned: "\x80" and "\xff" come after every ASCII key.
  for (const std::string& k : {std::string("b"), std::string("\xff"), std::string("a"), std::string("\x80"),
                               std::string("ab"), std::string("a\0", 2), std::string("B")}) {
    this->Put(Table::kEvents, k, "v");
  }
  EXPECT_THAT(this->Keys(Table::kEvents, {}),
              ElementsAre("B", "a", std::string("a\0", 2), "ab", "b", "\x80", "\xff"));
}

TYPED_TEST(KvStoreTest, ScanForwardWithStartEndLimit) {
  this->FillAtoE();
  ScanOptions o;
  EXPECT_THAT(this->Scan(Table::kPlans, o),
              ElementsAre(Pair("a", "A"), Pair("b", "B"), Pair("c", "C"), Pair("d", "D"), Pair("e", "E")));
  o.start = "b";  // inclusive
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("b", "c", "d", "e"));
  o.end = "d";  // exclusive
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("b", "c"));
  o.start = "bb";  // between keys
  o.end = "dd";
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("c", "d"));
  o = {};
  o.end = "c";
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("a", "b"));
  o.limit = 1;
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("a"));
  o = {};
  o.start = "c";
  o.limit = 2;
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("c", "d"));
  o.limit = 100;
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("c", "d", "e"));
  o = {};
  o.start = "f";
  EXPECT_THAT(this->Keys(Table::kPlans, o), IsEmpty());
}

TYPED_TEST(KvStoreTest, ScanReverseWithStartEndLimit) {
  this->FillAtoE();
  ScanOptions o;
  o.reverse = true;
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("e", "d", "c", "b", "a"));
  o.end = "d";  // still exclusive when scanning down
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("c", "b", "a"));
  o.start = "b";  // still inclusive
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("c", "b"));
  o.end = "cc";  // end between keys
  o.start = "aa";
  EXPECT_THAT(this->Scan(Table::kPlans, o), ElementsAre(Pair("c", "C"), Pair("b", "B")));
  o = {};
  o.reverse = true;
  o.limit = 2;
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("e", "d"));
  o.end = "zzz";  // past the last key
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("e", "d"));
  o = {};
  o.reverse = true;
  o.start = "d";
  EXPECT_THAT(this->Keys(Table::kPlans, o), ElementsAre("e", "d"));
  o = {};
  o.reverse = true;
  o.end = "a";  // nothing below the first key
  EXPECT_THAT(this->Keys(Table::kPlans, o), IsEmpty());
}

TYPED_TEST(KvStoreTest, ScanOfAnEmptyOrInvertedRangeVisitsNothing) {
  this->FillAtoE();
  for (bool reverse : {false, true}) {
    ScanOptions o;
    o.reverse = reverse;
    o.start = "c";
    o.end = "c";
    EXPECT_THAT(this->Keys(Table::kPlans, o), IsEmpty()) << "reverse=" << reverse;
    o.start = "d";
    o.end = "b";
    EXPECT_THAT(this->Keys(Table::kPlans, o), IsEmpty()) << "reverse=" << reverse;
  }
}

TYPED_TEST(KvStoreTest, ScanStopsWhenTheVisitorSaysSo) {
  this->FillAtoE();
  for (bool reverse : {false, true}) {
    ScanOptions o;
    o.reverse = reverse;
    std::vector<std::string> seen;
    auto s = this->kv().Scan(Table::kPlans, o, [&](std::string_view k, std::string_view) {
      seen.emplace_back(k);
      return seen.size() < 2;
    });
    ASSERT_TRUE(s.ok()) << s;
    if (reverse) {
      EXPECT_THAT(seen, ElementsAre("e", "d"));
    } else {
      EXPECT_THAT(seen, ElementsAre("a", "b"));
    }
  }
}

TYPED_TEST(KvStoreTest, ScanOfPrefixWithPrefixEnd) {
  for (const char* k : {"job-1/", "job-1/a", "job-1/b", "job-10/a", "job-1.", "job-10", "job-2/a"}) {
    this->Put(Table::kEvents, k, "v");
  }
  ScanOptions o;
  o.start = "job-1/";
  o.end = PrefixEnd("job-1/");
  EXPECT_THAT(this->Keys(Table::kEvents, o), ElementsAre("job-1/", "job-1/a", "job-1/b"));
  o.reverse = true;
  EXPECT_THAT(this->Keys(Table::kEvents, o), ElementsAre("job-1/b", "job-1/a", "job-1/"));
}

TYPED_TEST(KvStoreTest, DeleteRangeRemovesExactlyTheHalfOpenRange) {
  for (const char* k : {"job-1.", "job-1/", "job-1/a", "job-1/b", "job-10/a", "job-2/a"}) {
    this->Put(Table::kEvents, k, "v");
  }
  this->Put(Table::kJobs, "job-1/a", "other table");
  WriteBatch batch;
  batch.DeleteRange(Table::kEvents, "job-1/", PrefixEnd("job-1/"));
  batch.Put(Table::kEvents, "job-1/c", "written after the range delete");
  ASSERT_TRUE(this->kv().Write(batch, /*sync=*/true).ok());
  EXPECT_THAT(this->Keys(Table::kEvents, {}), ElementsAre("job-1.", "job-1/c", "job-10/a", "job-2/a"));
  EXPECT_EQ(this->Get(Table::kJobs, "job-1/a"), "other table");
  // An empty range and a range over absent keys delete nothing and are no error.
  WriteBatch empty;
  empty.DeleteRange(Table::kEvents, "job-3/", PrefixEnd("job-3/"));
  ASSERT_TRUE(this->kv().Write(empty, /*sync=*/false).ok());
  EXPECT_THAT(this->Keys(Table::kEvents, {}), ElementsAre("job-1.", "job-1/c", "job-10/a", "job-2/a"));
}

TYPED_TEST(KvStoreTest, VisitorMayReadTheStore) {
  this->FillAtoE();
  std::vector<std::string> seen;
  auto s = this->kv().Scan(Table::kPlans, {}, [&](std::string_view k, std::string_view) {
    auto other = this->kv().Get(Table::kPlans, std::string(k));
    EXPECT_TRUE(other.ok());
    if (other.ok() && other->has_value()) seen.push_back(**other);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(seen, ElementsAre("A", "B", "C", "D", "E"));
}

TEST(PrefixEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd("job-1/"), "job-10");
  EXPECT_EQ(PrefixEnd(std::string("a\0", 2)), std::string("a\x01", 2));
  EXPECT_EQ(PrefixEnd("a\x7f"), "a\x80");
  EXPECT_EQ(PrefixEnd("a\xfe"), "a\xff");
}

TEST(PrefixEndTest, DropsTrailingFfBytes) {
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xff\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xfe\xff"), "a\xff");
}

TEST(PrefixEndTest, EmptyWhenNoUpperBoundExists) {
  EXPECT_EQ(PrefixEnd(""), "");
  EXPECT_EQ(PrefixEnd("\xff"), "");
  EXPECT_EQ(PrefixEnd("\xff\xff\xff"), "");
}

TEST(PrefixEndTest, IsAboveEveryKeyWithThePrefixAndBelowTheNextOnes) {
  const std::string prefix = "p/\xff";
  const std::string end = PrefixEnd(prefix);
  for (const std::string& inside : {prefix, prefix + "\xff\xff\xff", prefix + std::string("\0", 1)}) {
    EXPECT_LT(inside, end);
  }
  EXPECT_GE(std::string("p0"), end);
  EXPECT_EQ(end, "p0");
}

TEST(TableNameTest, NamesAreDistinctAndStable) {
  EXPECT_STREQ(TableName(Table::kJobs), "jobs");
  EXPECT_STREQ(TableName(Table::kEvents), "events");
  EXPECT_STREQ(TableName(Table::kWorkers), "workers");
  EXPECT_STREQ(TableName(Table::kTasks), "tasks");
  EXPECT_STREQ(TableName(Table::kPlans), "plans");
  EXPECT_STREQ(TableName(Table::kNeurons), "neurons");
  EXPECT_STREQ(TableName(Table::kMeta), "meta");
  EXPECT_STREQ(TableName(Table::kCount), "invalid");
}

}  // namespace
}  // namespace nmoe::storage
