#include "cli/health_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace nmoe::cli {
namespace {

using google::protobuf::internal::WireFormatLite;

constexpr int kStatusField = 1;   // HealthCheckResponse.status
constexpr int kServiceField = 1;  // HealthCheckRequest.service

}  // namespace

std::string EncodeHealthCheckRequest(const std::string& service) {
  std::string bytes;
  if (service.empty()) return bytes;  // proto3: the default value is not written
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteTag(WireFormatLite::MakeTag(kServiceField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    out.WriteVarint32(static_cast<uint32_t>(service.size()));
    out.WriteString(service);
  }  // `out` flushes into `bytes` when destroyed
  return bytes;
}

absl::StatusOr<int> DecodeHealthCheckResponse(std::string_view bytes) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  int status = kHealthUnknown;
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == kStatusField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint32_t value;
      if (!in.ReadVarint32(&value)) {
        return absl::InvalidArgumentError("malformed HealthCheckResponse: truncated status");
      }
      status = static_cast<int>(value);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return absl::InvalidArgumentError("malformed HealthCheckResponse");
    }
  }
  if (!in.ConsumedEntireMessage()) {
    return absl::InvalidArgumentError("malformed HealthCheckResponse: bad tag");
  }
  return status;
}

std::string HealthStatusName(int status) {
  switch (status) {
    case kHealthUnknown: return "UNKNOWN";
    case kHealthServing: return "SERVING";
    case kHealthNotServing: return "NOT_SERVING";
    case kHealthServiceUnknown: return "SERVICE_UNKNOWN";
    default: return std::to_string(status);
  }
}

}  // namespace nmoe::cli
