// Hashes used for content checksums and deterministic splits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace nmoe::data {

// 64-bit FNV-1a of the bytes (offset basis 14695981039346656037, prime 1099511628211).
// Stable across platforms and releases: the corpus splits and sample order depend on it.
uint64_t Fnv1a64(std::string_view bytes);

// Lowercase hex of raw bytes.
std::string ToHex(std::string_view bytes);

// Raw 32-byte SHA-256 of the bytes.
std::string Sha256Digest(std::string_view bytes);

// Lowercase hex SHA-256 of the bytes.
std::string Sha256Hex(std::string_view bytes);

// Lowercase hex SHA-256 of a file's contents; NOT_FOUND / INTERNAL on read errors.
absl::StatusOr<std::string> Sha256File(const std::string& path);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // Finish the hash; the object must not be updated afterwards.
  std::string Digest();     // 32 raw bytes
  std::string HexDigest();  // 64 lowercase hex digits

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace nmoe::data
