#include "common/ids.h"

#include <algorithm>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"

namespace nmoe {
namespace {

// Crockford-like base32 alphabet in ASCII order, so string order = numeric order.
constexpr std::string_view kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr int kTimeChars = 10;
constexpr int kRandomChars = 10;

}  // namespace

std::string NewId(std::string_view prefix, absl::Time now) {
  // Monotonic within the process: an id from the same (or an earlier)
  // millisecond as the last one continues from it, so ids keep creation order
  // even in bursts and under a clock that steps back.
  static std::mutex mu;
  static uint64_t last_ms = 0, last_random = 0;
  uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now)));
  uint64_t r;
  {
    std::lock_guard lock(mu);
    if (ms <= last_ms) {
      ms = last_ms;
      r = last_random + 1;
    } else {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      r = rng() >> 15;  // 49 bits: room to count up before the 50-bit field overflows
    }
    last_ms = ms;
    last_random = r;
  }
  std::string body(kTimeChars + kRandomChars, '0');
  for (int i = kTimeChars - 1; i >= 0; --i) {
    body[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  for (int i = kTimeChars + kRandomChars - 1; i >= kTimeChars; --i) {
    body[i] = kAlphabet[r & 31];
    r >>= 5;
  }
  return std::string(prefix) + "-" + body;
}

bool IsWellFormedId(std::string_view prefix, std::string_view id) {
  if (id.size() != prefix.size() + 1 + kTimeChars + kRandomChars) return false;
  if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '-') return false;
  for (char c : id.substr(prefix.size() + 1)) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace nmoe
