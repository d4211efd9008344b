// A small ordered key-value interface with named tables and atomic batches.
// Implementations: RocksDbStore (persistent; tables are column families) and
// MemoryStore (tests, simulations).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nmoe::storage {

enum class Table : int {
  kJobs = 0,     // job id -> nmoe.v1.Job
  kEvents,       // job id + seq -> nmoe.v1.JobEvent
  kWorkers,      // worker id -> nmoe.v1.Worker
  kTasks,        // reserved for task records of the scheduler
  kPlans,        // plan id -> nmoe.v1.Plan; plus a by-job index
  kNeurons,      // per-neuron statistics and selections
  kMeta,         // idempotency keys, schema version, counters
  kEvaluations,  // evaluate jobs' results and pipeline reports
  kCount,
};

// The table's name, also its RocksDB column family name.
const char* TableName(Table table);

// Atomic group of writes; value std::nullopt deletes the key, or with a
// non-empty range_end every key in [key, range_end).
class WriteBatch {
 public:
  struct Op {
    Table table;
    std::string key;
    std::optional<std::string> value;
    std::string range_end;
  };
  void Put(Table table, std::string key, std::string value) {
    ops_.push_back({table, std::move(key), std::move(value), {}});
  }
  void Delete(Table table, std::string key) { ops_.push_back({table, std::move(key), std::nullopt, {}}); }
  // Deletes every key k with begin <= k < end; needs begin < end.
  void DeleteRange(Table table, std::string begin, std::string end) {
    ops_.push_back({table, std::move(begin), std::nullopt, std::move(end)});
  }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

struct ScanOptions {
  std::string start;          // first key (inclusive); empty = table start
  std::string end;            // last key (exclusive); empty = table end
  bool reverse = false;       // descending order
  size_t limit = 0;           // 0 = no limit
};

// Return false to stop the scan.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class KvStore {
 public:
  virtual ~KvStore() = default;

  // Applies every op or none. sync = true: the batch is on stable storage
  // (write-ahead log fsynced) when this returns OK.
  virtual absl::Status Write(const WriteBatch& batch, bool sync) = 0;
  // std::nullopt when the key is absent.
  virtual absl::StatusOr<std::optional<std::string>> Get(Table table, std::string_view key) = 0;
  virtual absl::Status Scan(Table table, const ScanOptions& options, const ScanVisitor& visit) = 0;
  // Makes every write that returned before this call durable (fsync of the log).
  virtual absl::Status Sync() = 0;
};

// The smallest key greater than every key starting with `prefix` (for scans
// of one prefix); empty when no such key exists (prefix of all 0xff).
std::string PrefixEnd(std::string_view prefix);

}  // namespace nmoe::storage
