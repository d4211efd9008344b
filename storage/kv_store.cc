#include "storage/kv_store.h"

namespace nmoe::storage {

const char* TableName(Table table) {
  switch (table) {
    case Table::kJobs: return "jobs";
    case Table::kEvents: return "events";
    case Table::kWorkers: return "workers";
    case Table::kTasks: return "tasks";
    case Table::kPlans: return "plans";
    case Table::kNeurons: return "neurons";
    case Table::kMeta: return "meta";
    case Table::kEvaluations: return "evaluations";
    case Table::kCount: break;
  }
  return "invalid";
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace nmoe::storage
