#include "model/safetensors_fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace nmoe::safetensors::internal {
namespace {

absl::Status Errno(int error, const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

}  // namespace

absl::Status WriteAll(int fd, std::span<const std::byte> data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), std::min<size_t>(data.size(), size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot write", path);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status ReplaceFileAtomically(const std::string& path,
                                   const std::function<absl::Status(int fd)>& fill) {
  std::filesystem::path target(path);
  std::filesystem::path folder = target.parent_path();
  if (folder.empty()) folder = ".";
  std::string temp = (folder / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return Errno(errno, "cannot create a temp file for", path);
  absl::Status status = fill(fd);
  if (status.ok() && ::fchmod(fd, 0644) != 0) status = Errno(errno, "cannot chmod", temp);
  if (status.ok() && ::fsync(fd) != 0) status = Errno(errno, "cannot fsync", temp);
  if (::close(fd) != 0 && status.ok()) status = Errno(errno, "cannot close", temp);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = Errno(errno, absl::StrCat("cannot rename ", temp, " to"), path);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno(errno, "cannot open folder", folder.string());
  int rc = ::fsync(dir_fd);
  int error = errno;
  ::close(dir_fd);
  if (rc != 0) return Errno(error, "cannot fsync folder", folder.string());
  return absl::OkStatus();
}

}  // namespace nmoe::safetensors::internal
