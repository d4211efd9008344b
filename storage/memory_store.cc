#include "storage/memory_store.h"

#include <string>
#include <utility>
#include <vector>

namespace nmoe::storage {

absl::Status MemoryStore::Write(const WriteBatch& batch, bool /*sync*/) {
  std::lock_guard lock(mu_);
  for (const auto& op : batch.ops()) {
    auto& table = tables_[static_cast<size_t>(op.table)];
    if (op.value) {
      table.insert_or_assign(op.key, *op.value);
    } else if (!op.range_end.empty()) {
      if (op.key < op.range_end) table.erase(table.lower_bound(op.key), table.lower_bound(op.range_end));
    } else {
      table.erase(op.key);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryStore::Get(Table table, std::string_view key) {
  std::lock_guard lock(mu_);
  const auto& t = tables_[static_cast<size_t>(table)];
  auto it = t.find(key);
  if (it == t.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::Status MemoryStore::Scan(Table table, const ScanOptions& options, const ScanVisitor& visit) {
  // Copy the range first so the visitor may call back into the store.
  std::vector<std::pair<std::string, std::string>> rows;
  {
    std::lock_guard lock(mu_);
    const auto& t = tables_[static_cast<size_t>(table)];
    auto lo = options.start.empty() ? t.begin() : t.lower_bound(options.start);
    auto hi = options.end.empty() ? t.end() : t.lower_bound(options.end);
    if (!options.end.empty() && options.start >= options.end) hi = lo;  // empty range, not past end()
    for (auto it = lo; it != hi; ++it) rows.emplace_back(it->first, it->second);
  }
  size_t seen = 0;
  auto visit_row = [&](const std::pair<std::string, std::string>& row) {
    if (options.limit && seen >= options.limit) return false;
    ++seen;
    return visit(row.first, row.second);
  };
  if (options.reverse) {
    for (auto it = rows.rbegin(); it != rows.rend(); ++it)
      if (!visit_row(*it)) break;
  } else {
    for (const auto& row : rows)
      if (!visit_row(row)) break;
  }
  return absl::OkStatus();
}

}  // namespace nmoe::storage
