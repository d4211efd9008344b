#include "storage/keys.h"



namespace nmoe::storage {

void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void AppendU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::optional<uint32_t> ReadU32(std::string_view key, size_t pos) {
  if (key.size() < pos + 4) return std::nullopt;
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(key[pos + i]);
  return v;
}

std::optional<uint64_t> ReadU64(std::string_view key, size_t pos) {
  if (key.size() < pos + 8) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(key[pos + i]);
  return v;
}

std::string EventPrefix(std::string_view job_id) { return std::string(job_id) + "/"; }

std::string EventKey(std::string_view job_id, uint64_t seq) {
  std::string key = EventPrefix(job_id);
  AppendU64(key, seq);
  return key;
}

}  // namespace nmoe::storage
