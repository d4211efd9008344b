#include "comm/gloo_store.h"

#include <gloo/common/error.h>

namespace nmoe::comm {

void GlooStore::set(const std::string& key, const std::vector<char>& data) {
  absl::Status s = store_->Set(Key(key), std::string(data.begin(), data.end()));
  if (!s.ok()) throw gloo::IoException(s.ToString());
}

std::vector<char> GlooStore::get(const std::string& key) {
  auto value = store_->Get(Key(key), timeout_);
  if (!value.ok()) throw gloo::IoException(value.status().ToString());
  return std::vector<char>(value->begin(), value->end());
}

void GlooStore::wait(const std::vector<std::string>& keys) {
  wait(keys, std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout_)));
}

void GlooStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const auto& key : keys) full.push_back(Key(key));
  auto values = store_->Wait(full, absl::FromChrono(timeout));
  if (!values.ok()) throw gloo::IoException(values.status().ToString());
}

}  // namespace nmoe::comm
