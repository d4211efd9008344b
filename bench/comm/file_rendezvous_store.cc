#include "bench/comm/file_rendezvous_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace nmoe::bench {
namespace fs = std::filesystem;
namespace {

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

}  // namespace

fs::path FileRendezvousStore::KeyPath(const std::string& key) const {
  std::string name = "k-";
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      name.push_back(static_cast<char>(c));
    } else {
      name += absl::StrFormat("%%%02X", c);
    }
  }
  return dir_ / name;
}

absl::Status FileRendezvousStore::WriteAtomically(const fs::path& path, const std::string& value) {
  static std::atomic<int> counter{0};
  const fs::path tmp = dir_ / absl::StrCat(".tmp-", getpid(), "-", counter.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    if (!out.good()) return absl::UnavailableError(absl::StrCat("file store: cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("file store: rename to ", path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status FileRendezvousStore::Set(const std::string& key, const std::string& value) {
  return WriteAtomically(KeyPath(key), value);
}

absl::StatusOr<std::vector<std::string>> FileRendezvousStore::Wait(const std::vector<std::string>& keys,
                                                                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> values(keys.size());
  std::vector<bool> have(keys.size(), false);
  while (true) {
    std::vector<std::string> missing;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!have[i]) have[i] = ReadFile(KeyPath(keys[i]), &values[i]);
      if (!have[i]) missing.push_back(keys[i]);
    }
    if (missing.empty()) return values;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("file store ", dir_.string(), ": timed out after ",
                                                      absl::FormatDuration(timeout), " waiting for '",
                                                      comm::JoinKeys(missing), "'"));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
}

absl::StatusOr<int64_t> FileRendezvousStore::Add(const std::string& key, int64_t delta) {
  const fs::path lock_path = dir_ / ".add.lock";
  const int fd = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("file store: open ", lock_path.string(), ": ", strerror(errno)));
  if (flock(fd, LOCK_EX) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("file store: flock ", lock_path.string(), ": ", strerror(err)));
  }
  int64_t value = 0;
  std::string text;
  absl::Status status;
  if (ReadFile(KeyPath(key), &text) && !absl::SimpleAtoi(text, &value)) {
    status = absl::FailedPreconditionError(absl::StrCat("file store: key '", key, "' holds a non-integer"));
  } else {
    value += delta;
    status = WriteAtomically(KeyPath(key), absl::StrCat(value));
  }
  flock(fd, LOCK_UN);
  close(fd);
  if (!status.ok()) return status;
  return value;
}

}  // namespace nmoe::bench
