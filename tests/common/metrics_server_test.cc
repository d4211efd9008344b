// MetricsServer: the /metrics HTTP endpoint of both daemons (common/metrics.h).
#include "common/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>

#include "tests/support/http_get.h"

namespace nmoe {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<prometheus::Registry> RegistryWithCounter(double value) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("test_things_total").Help("things").Register(*registry).Add({{"kind", "a"}})
      .Increment(value);
  return registry;
}

TEST(MetricsServerTest, ServesTheRegistryInTextFormat) {
  auto server = MetricsServer::Start("127.0.0.1:0", RegistryWithCounter(3));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  auto body = testing::HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr("# TYPE test_things_total counter"));
  EXPECT_THAT(*body, HasSubstr("test_things_total{kind=\"a\"} 3"));
  auto with_query = testing::HttpGet((*server)->port(), "/metrics?x=1");
  EXPECT_TRUE(with_query.ok()) << with_query.status();
  auto other = testing::HttpGet((*server)->port(), "/");
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.status().message(), HasSubstr("404"));
}

TEST(MetricsServerTest, AnyInterfaceWithPortZeroGetsAPort) {
  auto server = MetricsServer::Start("0.0.0.0:0", RegistryWithCounter(1));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(testing::HttpGet((*server)->port(), "/metrics").ok());
}

TEST(MetricsServerTest, BadAddressesArePreciseErrors) {
  EXPECT_EQ(MetricsServer::Start("9464", RegistryWithCounter(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsServer::Start("127.0.0.1:http", RegistryWithCounter(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsServer::Start("127.0.0.1:70000", RegistryWithCounter(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = MetricsServer::Start("127.0.0.1:0", RegistryWithCounter(1));
  ASSERT_TRUE(first.ok());
  auto taken = MetricsServer::Start("127.0.0.1:" + std::to_string((*first)->port()), RegistryWithCounter(1));
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable);
}

// An idle client (connected, sends nothing) neither blocks scrapes forever nor
// the destructor; destruction is immediate (CivetWeb's Exposer took ~2 s).
TEST(MetricsServerTest, StopsAtOnceEvenWithAnIdleClient) {
  auto server = MetricsServer::Start("127.0.0.1:0", RegistryWithCounter(1));
  ASSERT_TRUE(server.ok());
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  usleep(100 * 1000);  // the server thread is now waiting on this client
  const auto start = std::chrono::steady_clock::now();
  server->reset();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  EXPECT_LT(seconds, 1.0);
}

}  // namespace
}  // namespace nmoe
