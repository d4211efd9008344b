#include "common/grpc_status.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace nmoe {
namespace {

constexpr int kFirstErrorCode = 1;   // CANCELLED
constexpr int kLastErrorCode = 16;   // UNAUTHENTICATED

TEST(GrpcStatusTest, OkMapsToOkBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcStatus(absl::OkStatus()).error_code(), grpc::StatusCode::OK);
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, NamedCodesMapToTheirGrpcCounterparts) {
  struct Case {
    absl::Status status;
    grpc::StatusCode code;
  };
  const Case cases[] = {
      {absl::InvalidArgumentError("bad"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("bad"), grpc::StatusCode::NOT_FOUND},
      {absl::FailedPreconditionError("bad"), grpc::StatusCode::FAILED_PRECONDITION},
      {absl::UnavailableError("bad"), grpc::StatusCode::UNAVAILABLE},
      {absl::UnauthenticatedError("bad"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::PermissionDeniedError("bad"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::InternalError("bad"), grpc::StatusCode::INTERNAL},
      {absl::DeadlineExceededError("bad"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::AbortedError("bad"), grpc::StatusCode::ABORTED},
      {absl::AlreadyExistsError("bad"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::ResourceExhaustedError("bad"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::DataLossError("bad"), grpc::StatusCode::DATA_LOSS},
      {absl::CancelledError("bad"), grpc::StatusCode::CANCELLED},
      {absl::UnimplementedError("bad"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::OutOfRangeError("bad"), grpc::StatusCode::OUT_OF_RANGE},
      {absl::UnknownError("bad"), grpc::StatusCode::UNKNOWN},
  };
  for (const auto& c : cases) {
    const grpc::Status g = ToGrpcStatus(c.status);
    EXPECT_EQ(g.error_code(), c.code) << c.status;
    EXPECT_EQ(g.error_message(), "bad") << c.status;
    EXPECT_EQ(FromGrpcStatus(grpc::Status(c.code, "bad")), c.status) << c.status;
  }
}

TEST(GrpcStatusTest, EveryErrorCodeRoundTripsWithItsMessage) {
  for (int code = kFirstErrorCode; code <= kLastErrorCode; ++code) {
    const std::string message = "message for code " + std::to_string(code) + " with \xce\xb1 and ': '";
    const absl::Status original(static_cast<absl::StatusCode>(code), message);
    const grpc::Status g = ToGrpcStatus(original);
    EXPECT_FALSE(g.ok());
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(g.error_message(), message);
    const absl::Status back = FromGrpcStatus(g);
    EXPECT_EQ(back, original);
  }
}

TEST(GrpcStatusTest, GrpcErrorKeepsItsMessageButNotTheDetails) {
  const grpc::Status g(grpc::StatusCode::NOT_FOUND, "job job-1 not found", "binary details");
  const absl::Status s = FromGrpcStatus(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "job job-1 not found");
}

TEST(GrpcStatusTest, CodeNamesMatchTheCanonicalSpelling) {
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  for (int code = kFirstErrorCode; code <= kLastErrorCode; ++code) {
    // absl spells the canonical names the same way gRPC does.
    EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(code)),
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code)))
        << code;
  }
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

TEST(GrpcStatusTest, UnknownCodeNumbersAreNamedUnknown) {
  EXPECT_STREQ(GrpcCodeName(static_cast<grpc::StatusCode>(17)), "UNKNOWN");
  EXPECT_STREQ(GrpcCodeName(static_cast<grpc::StatusCode>(-1)), "UNKNOWN");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::DO_NOT_USE), "UNKNOWN");
}

}  // namespace
}  // namespace nmoe
