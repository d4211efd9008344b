// File: open, map and validate a safetensors file.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "model/safetensors.h"

namespace nmoe::safetensors {
namespace {

absl::Status Errno(int error, const char* what, const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

// Closes a descriptor on every return path.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

absl::StatusOr<std::shared_ptr<const File>> File::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang (it is then refused as not a regular file).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Errno(errno, "cannot open", path);
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }

  std::shared_ptr<File> file(new File());
  file->path_ = path;
  file->size_ = static_cast<uint64_t>(st.st_size);
  std::span<const std::byte> image;
  if (file->size_ > 0) {
    // Private, copy-on-write: zero-copy tensors written in place never reach the file
    // and never fault on a read-only page (safetensors.h).
    void* map = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return Errno(errno, "cannot mmap", path);
    file->map_ = map;
    image = {static_cast<const std::byte*>(map), file->size_};
  }
  absl::StatusOr<ParsedHeader> parsed = ParseFileImage(image, path);
  if (!parsed.ok()) return parsed.status();
  file->header_size_ = parsed->header_size;
  file->tensors_ = std::move(parsed->tensors);
  file->metadata_ = std::move(parsed->metadata);
  for (size_t i = 0; i < file->tensors_.size(); ++i) file->index_[file->tensors_[i].name] = i;
  return std::shared_ptr<const File>(std::move(file));
}

File::~File() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

const TensorInfo* File::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> File::Bytes(const TensorInfo& info) const {
  if (tensors_.empty() || &info < tensors_.data() || &info >= tensors_.data() + tensors_.size()) {
    return {};
  }
  const std::byte* base = static_cast<const std::byte*>(map_);
  if (base == nullptr) return {};
  return {base + data_offset() + info.data_begin, info.num_bytes()};
}

}  // namespace nmoe::safetensors
