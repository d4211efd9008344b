#include "cli/local_state.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace nmoe::cli {
namespace {

nlohmann::ordered_json ToJson(const LocalProcess& p) {
  return {{"name", p.name}, {"pid", p.pid}, {"binary", p.binary}, {"log", p.log}};
}

LocalProcess FromJson(const nlohmann::json& j) {
  LocalProcess p;
  p.name = j.at("name").get<std::string>();
  p.pid = j.at("pid").get<int>();
  p.binary = j.at("binary").get<std::string>();
  p.log = j.at("log").get<std::string>();
  return p;
}

}  // namespace

std::vector<LocalProcess> LocalState::StopOrder() const {
  std::vector<LocalProcess> order = worker_processes;
  order.push_back(coordinator);
  return order;
}

absl::StatusOr<std::optional<LocalState>> ReadLocalState(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<LocalState>();
  std::ifstream in(path);
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    LocalState s;
    s.address = j.at("address").get<std::string>();
    s.metrics_port = j.at("metrics_port").get<int>();
    s.token_file = j.at("token_file").get<std::string>();
    s.data_dir = j.at("data_dir").get<std::string>();
    s.work_dir = j.at("work_dir").get<std::string>();
    s.workers = j.at("workers").get<int>();
    s.threads_per_worker = j.at("threads_per_worker").get<int>();
    s.coordinator = FromJson(j.at("coordinator"));
    for (const nlohmann::json& w : j.at("worker_processes")) s.worker_processes.push_back(FromJson(w));
    return std::optional<LocalState>(std::move(s));
  } catch (const nlohmann::json::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a state file of `nmoectl local up` (", e.what(), "); remove it"));
  }
}

absl::Status WriteLocalState(const std::string& path, const LocalState& s) {
  nlohmann::ordered_json j = {{"address", s.address},         {"metrics_port", s.metrics_port},
                              {"token_file", s.token_file},   {"data_dir", s.data_dir},
                              {"work_dir", s.work_dir},       {"workers", s.workers},
                              {"threads_per_worker", s.threads_per_worker},
                              {"coordinator", ToJson(s.coordinator)}};
  j["worker_processes"] = nlohmann::ordered_json::array();
  for (const LocalProcess& w : s.worker_processes) j["worker_processes"].push_back(ToJson(w));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace nmoe::cli
