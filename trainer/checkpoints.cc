#include "trainer/checkpoints.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "data/hash.h"
#include "nlohmann/json.hpp"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

constexpr char kStateFile[] = "trainer_state.json";
constexpr char kOptimizerFile[] = "optimizer.pt";
constexpr char kRngKey[] = "nmoe_cpu_rng";
constexpr int kFormat = 1;

std::optional<uint64_t> StepOfName(const std::string& name) {
  constexpr std::string_view kPrefix = "step-";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  uint64_t step = 0;
  if (!absl::SimpleAtoi(name.substr(kPrefix.size()), &step)) return std::nullopt;
  return step;
}

absl::Status FsyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return absl::InternalError(absl::StrCat("checkpoint: cannot open ", path.string(), " to sync"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("checkpoint: fsync failed on ", path.string()));
  return absl::OkStatus();
}

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("checkpoint: cannot write ", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::DataLossError(absl::StrCat(path.string(), ": missing or unreadable"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CheckpointStore::CheckpointStore(fs::path root, int keep_last) : root_(std::move(root)), keep_last_(std::max(1, keep_last)) {}

absl::Status CheckpointStore::Save(const TrainerState& state, const SaveModelFn& save_model,
                                   torch::optim::Optimizer& optimizer) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return absl::InternalError(absl::StrCat("checkpoint: cannot create ", root_.string(), ": ", ec.message()));
  const std::string name = absl::StrCat("step-", state.step);
  const fs::path tmp = root_ / absl::StrCat(".tmp-", name, "-", ::getpid());
  const fs::path final_dir = root_ / name;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return absl::InternalError(absl::StrCat("checkpoint: cannot create ", tmp.string(), ": ", ec.message()));

  absl::Status status = save_model(tmp);
  if (status.ok()) {
    try {
      torch::serialize::OutputArchive archive;
      optimizer.save(archive);
      at::Tensor rng_state;
      {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        rng_state = gen.get_state();
      }
      archive.write(kRngKey, rng_state);
      archive.save_to((tmp / kOptimizerFile).string());
    } catch (const c10::Error& e) {
      status = absl::InternalError(absl::StrCat("checkpoint: saving the optimizer: ", e.what_without_backtrace()));
    }
  }
  nlohmann::json files = nlohmann::json::object();
  if (status.ok()) {
    for (const auto& entry : fs::directory_iterator(tmp)) {
      if (!entry.is_regular_file()) continue;
      auto sha = data::Sha256File(entry.path().string());
      if (!sha.ok()) {
        status = sha.status();
        break;
      }
      files[entry.path().filename().string()] = {{"bytes", entry.file_size()}, {"sha256", *sha}};
      if (absl::Status s = FsyncPath(entry.path(), false); !s.ok()) {
        status = s;
        break;
      }
    }
  }
  if (status.ok()) {
    nlohmann::json j = {{"format", kFormat},
                        {"step", state.step},
                        {"loader", state.loader},
                        {"fingerprint", state.fingerprint},
                        {"tokens_seen", state.tokens_seen},
                        {"elapsed_seconds", state.elapsed_seconds},
                        {"files", files}};
    status = WriteText(tmp / kStateFile, j.dump(2) + "\n");
    if (status.ok()) status = FsyncPath(tmp / kStateFile, false);
    if (status.ok()) status = FsyncPath(tmp, true);
  }
  if (status.ok()) {
    fs::remove_all(final_dir, ec);  // an older save of the same step (e.g. a stop right after a periodic save)
    fs::rename(tmp, final_dir, ec);
    if (ec) status = absl::InternalError(absl::StrCat("checkpoint: cannot rename ", tmp.string(), ": ", ec.message()));
    if (status.ok()) status = FsyncPath(root_, true);
  }
  if (!status.ok()) {
    fs::remove_all(tmp, ec);
    return status;
  }
  Prune();
  return absl::OkStatus();
}

std::vector<fs::path> CheckpointStore::List() const {
  std::vector<std::pair<uint64_t, fs::path>> found;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory()) continue;
    if (auto step = StepOfName(it->path().filename().string())) found.emplace_back(*step, it->path());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  for (auto& [step, path] : found) out.push_back(std::move(path));
  return out;
}

absl::StatusOr<FoundCheckpoint> CheckpointStore::Verify(const fs::path& dir) {
  const fs::path state_path = dir / kStateFile;
  auto text = ReadText(state_path);
  if (!text.ok()) return text.status();
  FoundCheckpoint found;
  found.dir = dir;
  try {
    const nlohmann::json j = nlohmann::json::parse(*text);
    if (j.at("format").get<int>() != kFormat) {
      return absl::DataLossError(absl::StrCat(state_path.string(), ": unknown format ", j.at("format").dump()));
    }
    found.state.step = j.at("step").get<uint64_t>();
    found.state.loader = j.at("loader").get<std::string>();
    found.state.fingerprint = j.at("fingerprint").get<std::string>();
    found.state.tokens_seen = j.at("tokens_seen").get<uint64_t>();
    found.state.elapsed_seconds = j.at("elapsed_seconds").get<double>();
    const auto& files = j.at("files");
    if (!files.is_object() || !files.contains(kOptimizerFile)) {
      return absl::DataLossError(absl::StrCat(state_path.string(), ": no ", kOptimizerFile, " listed"));
    }
    for (const auto& [name, info] : files.items()) {
      const fs::path file = dir / name;
      std::error_code ec;
      const uint64_t size = fs::file_size(file, ec);
      if (ec) return absl::DataLossError(absl::StrCat(file.string(), ": missing"));
      if (size != info.at("bytes").get<uint64_t>()) {
        return absl::DataLossError(absl::StrCat(file.string(), ": ", size, " bytes, expected ",
                                                info.at("bytes").get<uint64_t>(), " (truncated?)"));
      }
      auto sha = data::Sha256File(file.string());
      if (!sha.ok()) return absl::DataLossError(absl::StrCat(file.string(), ": ", sha.status().message()));
      if (*sha != info.at("sha256").get<std::string>()) {
        return absl::DataLossError(absl::StrCat(file.string(), ": SHA-256 mismatch (corrupt)"));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(state_path.string(), ": ", e.what()));
  }
  const auto named = StepOfName(dir.filename().string());
  if (named && *named != found.state.step) {
    return absl::DataLossError(
        absl::StrCat(state_path.string(), ": says step ", found.state.step, " but the folder is ", dir.filename().string()));
  }
  return found;
}

std::optional<FoundCheckpoint> CheckpointStore::FindLatestValid(
    const std::function<void(const std::string&)>& warn, uint64_t at_most) const {
  for (const fs::path& dir : List()) {
    if (auto step = StepOfName(dir.filename().string()); step && *step > at_most) continue;
    auto found = Verify(dir);
    if (found.ok()) return *std::move(found);
    warn(absl::StrCat("skipping corrupt checkpoint ", dir.string(), ": ", found.status().message()));
  }
  return std::nullopt;
}

absl::Status CheckpointStore::LoadOptimizer(const fs::path& dir, torch::optim::Optimizer& optimizer) {
  const fs::path path = dir / kOptimizerFile;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    optimizer.load(archive);
    at::Tensor rng_state;
    if (!archive.try_read(kRngKey, rng_state)) {
      return absl::DataLossError(absl::StrCat(path.string(), ": no generator state"));
    }
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng_state);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat(path.string(), ": cannot restore the optimizer: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

std::vector<fs::path> CheckpointStore::RemoveNewerThan(uint64_t step) const {
  std::vector<fs::path> removed;
  for (const fs::path& dir : List()) {
    auto n = StepOfName(dir.filename().string());
    if (!n || *n <= step) continue;
    std::error_code ec;
    fs::remove_all(dir, ec);
    removed.push_back(dir);
  }
  return removed;
}

void CheckpointStore::Prune() const {
  std::error_code ec;
  int kept = 0;
  for (const fs::path& dir : List()) {
    if (kept < keep_last_ && Verify(dir).ok()) {
      ++kept;
      continue;
    }
    if (kept >= keep_last_) fs::remove_all(dir, ec);
  }
  // Temporary folders of processes that are gone (ours was renamed already).
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".tmp-step-", 0) != 0) continue;
    const auto dash = name.rfind('-');
    int pid = 0;
    if (dash != std::string::npos && absl::SimpleAtoi(name.substr(dash + 1), &pid) && pid > 0 &&
        (pid == ::getpid() || ::kill(pid, 0) != 0)) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }
}

}  // namespace nmoe::trainer
