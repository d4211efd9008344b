#include "tests/coordinator/grpc_test_client.h"

#include <condition_variable>
#include <mutex>

#include <grpcpp/support/byte_buffer.h>

namespace nmoe::testing {

namespace {

// One unary call of `path` with the bytes of `request`, waited for.
grpc::Status BlockingUnaryCall(grpc::GenericStub& stub, grpc::ClientContext* ctx, const std::string& path,
                               const grpc::ByteBuffer& request, grpc::ByteBuffer* response) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(ctx, path, grpc::StubOptions(), &request, response, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = s;
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  return status;
}

}  // namespace

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer request;  // HealthCheckRequest{service: ""} encodes to zero bytes
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer response;
  const grpc::Status status = BlockingUnaryCall(stub, &ctx, "/grpc.health.v1.Health/Check", request, &response);
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1 (varint)}: tag 0x08 then the value; empty = UNKNOWN (0).
  if (bytes.empty()) return 0;
  if (bytes.size() < 2 || bytes[0] != 0x08) return -1;
  return static_cast<unsigned char>(bytes[1]);
}

grpc::Status GenericEmptyCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                              const std::string& token) {
  grpc::GenericStub stub(channel);
  std::unique_ptr<grpc::ClientContext> ctx = Ctx(token);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  return BlockingUnaryCall(stub, ctx.get(), path, request, &response);
}

}  // namespace nmoe::testing
