// Decoding stored protobuf records with errors that name the record.
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace nmoe::storage {

// DATA_LOSS naming the table and key when `bytes` is not a valid `message`.
inline absl::Status DecodeRecord(std::string_view bytes, std::string_view table, std::string_view key,
                                 google::protobuf::MessageLite& message) {
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("corrupt record in table ", std::string(table), " at key '",
                                            absl::CHexEscape(std::string(key)), "'"));
  }
  return absl::OkStatus();
}

}  // namespace nmoe::storage
