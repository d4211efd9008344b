// Helpers for safetensors tests: hand-built file images and small files.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <span>
#include <string>
#include <vector>

namespace nmoe::safetensors::testing {

// A file image: 8-byte little-endian `header_length` (default: the header's size), the
// header text, then `data`.
inline std::vector<std::byte> Image(const std::string& header, const std::vector<uint8_t>& data,
                                    int64_t header_length = -1) {
  uint64_t n = header_length < 0 ? header.size() : static_cast<uint64_t>(header_length);
  std::vector<std::byte> out(8);
  for (int i = 0; i < 8; ++i) out[i] = std::byte((n >> (8 * i)) & 0xff);
  for (char c : header) out.push_back(std::byte(static_cast<uint8_t>(c)));
  for (uint8_t b : data) out.push_back(std::byte(b));
  return out;
}

inline std::vector<uint8_t> Zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

inline void WriteBytes(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::byte> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

inline std::span<const std::byte> AsBytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace nmoe::safetensors::testing
