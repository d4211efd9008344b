#include "data/token_shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace nmoe::data {

static_assert(std::endian::native == std::endian::little, "token shards are read and written as little-endian");

namespace {

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t token_bytes;
  uint64_t num_tokens;
  uint64_t num_documents;
  uint64_t vocab_size;
  uint64_t tokens_offset;
  uint64_t index_offset;
  uint64_t file_size;
  unsigned char body_sha256[32];
  uint64_t header_fnv;
  unsigned char reserved[24];
};
static_assert(sizeof(Header) == kTokenShardHeaderSize);
static_assert(offsetof(Header, body_sha256) == 64 && offsetof(Header, header_fnv) == 96);

uint64_t HeaderFnv(const Header& h) { return Fnv1a64(std::string_view(reinterpret_cast<const char*>(&h), 96)); }

uint64_t RoundUp8(uint64_t x) { return (x + 7) / 8 * 8; }

}  // namespace

// ---- Writer -------------------------------------------------------------------------

TokenShardWriter::TokenShardWriter(std::string path, std::string tmp_path, std::FILE* file, uint64_t vocab_size)
    : path_(std::move(path)),
      tmp_path_(std::move(tmp_path)),
      file_(file),
      vocab_size_(vocab_size),
      token_bytes_(TokenBytesForVocab(vocab_size)) {}

TokenShardWriter::~TokenShardWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_) std::remove(tmp_path_.c_str());
}

absl::StatusOr<std::unique_ptr<TokenShardWriter>> TokenShardWriter::Create(const std::string& path,
                                                                           uint64_t vocab_size) {
  if (vocab_size == 0 || vocab_size > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat("token shard ", path, ": vocab_size ", vocab_size,
                                                   " outside [1, 2^31]"));
  }
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  std::unique_ptr<TokenShardWriter> w(new TokenShardWriter(path, tmp, file, vocab_size));
  Header zero{};
  if (absl::Status s = w->Write(&zero, sizeof(zero), /*hash=*/false); !s.ok()) return s;
  return w;
}

absl::Status TokenShardWriter::Write(const void* data, size_t size, bool hash) {
  if (size == 0) return absl::OkStatus();
  if (std::fwrite(data, 1, size, file_) != size) {
    return absl::InternalError(absl::StrCat("writing ", tmp_path_, ": ", std::strerror(errno)));
  }
  if (hash) body_hash_.Update(std::string_view(static_cast<const char*>(data), size));
  return absl::OkStatus();
}

absl::Status TokenShardWriter::AddDocument(std::span<const int32_t> tokens) {
  if (finished_) return absl::FailedPreconditionError("token shard writer already finished");
  buffer_.resize(tokens.size() * token_bytes_);
  for (size_t i = 0; i < tokens.size(); ++i) {
    int32_t id = tokens[i];
    if (id < 0 || static_cast<uint64_t>(id) >= vocab_size_) {
      return absl::InvalidArgumentError(absl::StrCat("token shard ", path_, ": document ", num_documents(),
                                                     " token ", i, " has id ", id, " outside [0, ", vocab_size_, ")"));
    }
    if (token_bytes_ == 2) {
      uint16_t v = static_cast<uint16_t>(id);
      std::memcpy(&buffer_[i * 2], &v, 2);
    } else {
      uint32_t v = static_cast<uint32_t>(id);
      std::memcpy(&buffer_[i * 4], &v, 4);
    }
  }
  if (absl::Status s = Write(buffer_.data(), buffer_.size(), true); !s.ok()) return s;
  index_.push_back(index_.back() + tokens.size());
  return absl::OkStatus();
}

absl::Status TokenShardWriter::Finish() {
  if (finished_) return absl::FailedPreconditionError("token shard writer already finished");
  Header h{};
  std::memcpy(h.magic, kTokenShardMagic, 8);
  h.version = kTokenShardVersion;
  h.token_bytes = token_bytes_;
  h.num_tokens = num_tokens();
  h.num_documents = num_documents();
  h.vocab_size = vocab_size_;
  h.tokens_offset = kTokenShardHeaderSize;
  const uint64_t tokens_end = h.tokens_offset + h.num_tokens * token_bytes_;
  h.index_offset = RoundUp8(tokens_end);
  h.file_size = h.index_offset + index_.size() * sizeof(uint64_t);
  const char pad[8] = {};
  if (absl::Status s = Write(pad, h.index_offset - tokens_end, true); !s.ok()) return s;
  if (absl::Status s = Write(index_.data(), index_.size() * sizeof(uint64_t), true); !s.ok()) return s;
  std::string digest = body_hash_.Digest();
  std::memcpy(h.body_sha256, digest.data(), 32);
  h.header_fnv = HeaderFnv(h);
  if (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(&h, sizeof(h), 1, file_) != 1 || std::fflush(file_) != 0 ||
      fsync(fileno(file_)) != 0) {
    return absl::InternalError(absl::StrCat("writing ", tmp_path_, ": ", std::strerror(errno)));
  }
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("renaming ", tmp_path_, " to ", path_, ": ", std::strerror(errno)));
  }
  finished_ = true;
  return absl::OkStatus();
}

// ---- Reader -------------------------------------------------------------------------

TokenShard::~TokenShard() {
  if (map_ != nullptr) munmap(map_, map_size_);
}

absl::StatusOr<std::unique_ptr<TokenShard>> TokenShard::Open(const std::string& path, bool verify_checksum) {
  auto bad = [&](auto&&... parts) { return absl::DataLossError(absl::StrCat("token shard ", path, ": ", parts...)); };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("token shard ", path, " does not exist"));
    return absl::InternalError(absl::StrCat("cannot open token shard ", path, ": ", std::strerror(errno)));
  }
  struct stat st{};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot stat ", path, ": ", std::strerror(errno)));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kTokenShardHeaderSize) {
    close(fd);
    return bad("truncated: ", size, " bytes, smaller than the ", kTokenShardHeaderSize, "-byte header");
  }
  std::unique_ptr<TokenShard> shard(new TokenShard());
  shard->path_ = path;
  shard->map_ = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (shard->map_ == MAP_FAILED) {
    shard->map_ = nullptr;
    return absl::InternalError(absl::StrCat("cannot map ", path, ": ", std::strerror(errno)));
  }
  shard->map_size_ = size;
  const auto* base = static_cast<const unsigned char*>(shard->map_);
  Header h;
  std::memcpy(&h, base, sizeof(h));
  if (std::memcmp(h.magic, kTokenShardMagic, 8) != 0) return bad("bad magic (not a token shard)");
  if (h.header_fnv != HeaderFnv(h)) return bad("header checksum mismatch (corrupt header)");
  if (h.version != kTokenShardVersion) {
    return absl::UnimplementedError(
        absl::StrCat("token shard ", path, ": format version ", h.version, ", this build reads ", kTokenShardVersion));
  }
  if (h.token_bytes != 2 && h.token_bytes != 4) return bad("bytes per token ", h.token_bytes, " (expected 2 or 4)");
  if (h.vocab_size == 0 || TokenBytesForVocab(h.vocab_size) > h.token_bytes) {
    return bad("vocab_size ", h.vocab_size, " does not fit ", h.token_bytes, "-byte tokens");
  }
  if (h.file_size != size) {
    return bad(size < h.file_size ? "truncated: " : "trailing bytes: ", "the header says ", h.file_size,
               " bytes, the file has ", size);
  }
  if (h.tokens_offset != kTokenShardHeaderSize || h.num_tokens > (size - h.tokens_offset) / h.token_bytes ||
      h.index_offset != RoundUp8(h.tokens_offset + h.num_tokens * h.token_bytes) || h.num_documents >= size / 8 ||
      h.index_offset + (h.num_documents + 1) * 8 != size) {
    return bad("inconsistent offsets (tokens ", h.num_tokens, ", documents ", h.num_documents, ", index at ",
               h.index_offset, ", size ", size, ")");
  }
  if (verify_checksum) {
    std::string digest = Sha256Digest(std::string_view(reinterpret_cast<const char*>(base) + kTokenShardHeaderSize,
                                                       size - kTokenShardHeaderSize));
    if (std::memcmp(digest.data(), h.body_sha256, 32) != 0) return bad("body SHA-256 mismatch (corrupt data)");
  }
  shard->tokens_ = base + h.tokens_offset;
  shard->index_ = reinterpret_cast<const uint64_t*>(base + h.index_offset);
  shard->num_tokens_ = h.num_tokens;
  shard->num_documents_ = h.num_documents;
  shard->vocab_size_ = h.vocab_size;
  shard->token_bytes_ = h.token_bytes;
  std::memcpy(shard->sha256_, h.body_sha256, 32);
  if (shard->index_[0] != 0 || shard->index_[h.num_documents] != h.num_tokens) {
    return bad("document index does not span the tokens (first ", shard->index_[0], ", last ",
               shard->index_[h.num_documents], ", tokens ", h.num_tokens, ")");
  }
  for (uint64_t d = 0; d < h.num_documents; ++d) {
    if (shard->index_[d + 1] < shard->index_[d]) return bad("document index decreases at document ", d);
  }
  return shard;
}

std::string TokenShard::body_sha256() const {
  return ToHex(std::string_view(reinterpret_cast<const char*>(sha256_), 32));
}

void TokenShard::CopyTokens(uint64_t begin, std::span<int32_t> out) const {
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(Token(begin + i));
}

std::vector<int32_t> TokenShard::Document(uint64_t d) const {
  auto [first, last] = DocumentRange(d);
  std::vector<int32_t> out(last - first);
  CopyTokens(first, out);
  return out;
}

}  // namespace nmoe::data
