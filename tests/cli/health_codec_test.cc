#include "cli/health_codec.h"

#include <gtest/gtest.h>

namespace nmoe::cli {
namespace {

TEST(HealthCodecTest, EncodesRequest) {
  EXPECT_EQ(EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(EncodeHealthCheckRequest("nmoe.v1.JobService"),
            std::string("\x0a\x12") + "nmoe.v1.JobService");
}

TEST(HealthCodecTest, DecodesStatus) {
  EXPECT_EQ(*DecodeHealthCheckResponse(""), kHealthUnknown);  // proto3 default
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x01", 2)), kHealthServing);
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x02", 2)), kHealthNotServing);
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x03", 2)), kHealthServiceUnknown);
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x07", 2)), 7);
}

TEST(HealthCodecTest, SkipsUnknownFields) {
  // field 2 (string "ab"), then status = SERVING, then field 3 varint 5.
  const std::string bytes(
      "\x12\x02"
      "ab"
      "\x08\x01"
      "\x18\x05",
      8);
  EXPECT_EQ(*DecodeHealthCheckResponse(bytes), kHealthServing);
}

TEST(HealthCodecTest, RejectsMalformedBytes) {
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x08", 1)).ok());  // no value
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x12\x05"
                                                     "ab",
                                                     4))
                   .ok());                                                   // short
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x00\x01", 2)).ok());  // tag 0
}

TEST(HealthCodecTest, Names) {
  EXPECT_EQ(HealthStatusName(kHealthServing), "SERVING");
  EXPECT_EQ(HealthStatusName(kHealthNotServing), "NOT_SERVING");
  EXPECT_EQ(HealthStatusName(kHealthServiceUnknown), "SERVICE_UNKNOWN");
  EXPECT_EQ(HealthStatusName(9), "9");
}

}  // namespace
}  // namespace nmoe::cli
