// Token shards: a file of token ids with a document index (format: docs/data.md).
//
// Layout (all integers little-endian):
//   [0, 128)          header
//     0  char[8]  magic "NMOETOKS"
//     8  u32      format version (1)
//     12 u32      bytes per token: 2 (uint16, vocab_size <= 65536) or 4 (uint32)
//     16 u64      num_tokens
//     24 u64      num_documents
//     32 u64      vocab_size (every id is < vocab_size)
//     40 u64      tokens_offset (128)
//     48 u64      index_offset (tokens_offset + num_tokens * bytes per token, rounded up to 8)
//     56 u64      file_size
//     64 u8[32]   SHA-256 of bytes [128, file_size): tokens, zero padding, index
//     96 u64      FNV-1a 64 of header bytes [0, 96)
//     104 u8[24]  zero
//   [tokens_offset, ...)  num_tokens ids
//   [index_offset, file_size)  num_documents + 1 u64 token offsets: doc d is
//                              tokens [index[d], index[d+1]); index[0] = 0,
//                              index[num_documents] = num_tokens, non-decreasing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/hash.h"

namespace nmoe::data {

inline constexpr char kTokenShardMagic[8] = {'N', 'M', 'O', 'E', 'T', 'O', 'K', 'S'};
inline constexpr uint32_t kTokenShardVersion = 1;
inline constexpr size_t kTokenShardHeaderSize = 128;

// Bytes per token for a vocabulary: 2 when every id fits in uint16, else 4.
inline uint32_t TokenBytesForVocab(uint64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

// Streams documents into a shard. The file appears (atomically, by rename) only on
// Finish(); a writer destroyed before that removes its temporary file.
class TokenShardWriter {
 public:
  // INVALID_ARGUMENT for vocab_size 0 or > 2^31 (ids are int32); INTERNAL when the file cannot be created.
  static absl::StatusOr<std::unique_ptr<TokenShardWriter>> Create(const std::string& path, uint64_t vocab_size);
  ~TokenShardWriter();

  // Appends one document (may be empty). INVALID_ARGUMENT naming the document and
  // position of an id outside [0, vocab_size).
  absl::Status AddDocument(std::span<const int32_t> tokens);
  // Writes the index and header, renames into place.
  absl::Status Finish();

  uint64_t num_tokens() const { return index_.back(); }
  uint64_t num_documents() const { return index_.size() - 1; }

 private:
  TokenShardWriter(std::string path, std::string tmp_path, std::FILE* file, uint64_t vocab_size);
  absl::Status Write(const void* data, size_t size, bool hash);

  std::string path_;
  std::string tmp_path_;
  std::FILE* file_;
  uint64_t vocab_size_;
  uint32_t token_bytes_;
  std::vector<uint64_t> index_ = {0};
  Sha256 body_hash_;
  bool finished_ = false;
  std::vector<char> buffer_;
};

// A memory-mapped, validated shard (read-only; safe to share between threads).
class TokenShard {
 public:
  // Validates the header (magic, version, token width, header checksum, offsets
  // consistent with each other and with the real file size), the document index, and,
  // when `verify_checksum`, the SHA-256 of the body. Errors: NOT_FOUND (missing file),
  // DATA_LOSS with the shard path and the first inconsistency found (truncated file,
  // bad magic, checksum mismatch, ...), UNIMPLEMENTED for a newer format version.
  static absl::StatusOr<std::unique_ptr<TokenShard>> Open(const std::string& path, bool verify_checksum = true);
  ~TokenShard();
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  const std::string& path() const { return path_; }
  uint64_t num_tokens() const { return num_tokens_; }
  uint64_t num_documents() const { return num_documents_; }
  uint64_t vocab_size() const { return vocab_size_; }
  uint32_t token_bytes() const { return token_bytes_; }
  std::string body_sha256() const;  // hex, from the header

  // Token at position i < num_tokens().
  uint32_t Token(uint64_t i) const {
    return token_bytes_ == 2 ? reinterpret_cast<const uint16_t*>(tokens_)[i] : reinterpret_cast<const uint32_t*>(tokens_)[i];
  }
  // Copies tokens [begin, begin + out.size()) (must lie inside the shard) into `out`.
  void CopyTokens(uint64_t begin, std::span<int32_t> out) const;
  // Token range [first, second) of document d < num_documents().
  std::pair<uint64_t, uint64_t> DocumentRange(uint64_t d) const { return {index_[d], index_[d + 1]}; }
  std::vector<int32_t> Document(uint64_t d) const;

 private:
  TokenShard() = default;

  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const unsigned char* tokens_ = nullptr;
  const uint64_t* index_ = nullptr;
  uint64_t num_tokens_ = 0;
  uint64_t num_documents_ = 0;
  uint64_t vocab_size_ = 0;
  uint32_t token_bytes_ = 0;
  unsigned char sha256_[32] = {};
};

}  // namespace nmoe::data
