// Key encodings: big-endian integers so byte order equals numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nmoe::storage {

void AppendU32(std::string& out, uint32_t v);
void AppendU64(std::string& out, uint64_t v);
// Reads a big-endian integer at `pos`; std::nullopt when the key is too short.
std::optional<uint32_t> ReadU32(std::string_view key, size_t pos);
std::optional<uint64_t> ReadU64(std::string_view key, size_t pos);

// "<job_id>/" + u64(seq): a job's event.
std::string EventKey(std::string_view job_id, uint64_t seq);
std::string EventPrefix(std::string_view job_id);

}  // namespace nmoe::storage
