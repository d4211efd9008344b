// Store fixtures shared by the storage tests: a fresh KvStore per test, either
// in memory or RocksDB in its own temporary folder (removed afterwards).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "storage/kv_store.h"
#include "storage/memory_store.h"
#include "storage/rocksdb_store.h"
#include "tests/support/temp_dir.h"

namespace nmoe::storage::testing {

using ::nmoe::testing::TempDir;

struct MemoryBackend {
  static constexpr const char* kName = "memory";
  std::unique_ptr<KvStore> Open() { return std::make_unique<MemoryStore>(); }
};

struct RocksDbBackend {
  static constexpr const char* kName = "rocksdb";
  std::unique_ptr<KvStore> Open() {
    auto store = RocksDbStore::Open(dir.file("db"));
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    return std::move(*store);
  }
  TempDir dir;
};

// Names the typed-test instantiations after the backend.
struct BackendName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

// Base fixture of the typed suites: `kv()` is a fresh store of the backend.
template <typename Backend>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = backend_.Open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }  // closes before the folder goes
  KvStore& kv() { return *store_; }

  Backend backend_;
  std::unique_ptr<KvStore> store_;
};

using Backends = ::testing::Types<MemoryBackend, RocksDbBackend>;

}  // namespace nmoe::storage::testing
