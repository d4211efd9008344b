#include "common/ids.h"

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
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  std::string body(kTimeChars + kRandomChars, '0');
  for (int i = kTimeChars - 1; i >= 0; --i) {
    body[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  uint64_t r = rng();
  for (int i = 0; i < kRandomChars; ++i) {
    body[kTimeChars + i] = kAlphabet[r & 31];
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
