// Mutual TLS (docs/security.md) against a real in-process coordinator, with
// certificates made by openssl in the test (tests/coordinator/test_pki.h) and
// the client of nmoectl and nmoe-worker (cli/client.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/client.h"
#include "coordinator/server.h"
#include "tests/coordinator/test_pki.h"
#include "tests/support/temp_dir.h"

namespace nmoe::coordinator {
namespace {

using ::nmoe::testing::ReadPemFile;
using ::testing::HasSubstr;

constexpr char kToken[] = "tls-test-token";

class MutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = ::nmoe::testing::MakeTestPki(dir_.path().string());
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    ServerConfig config;
    config.data_dir = dir_.file("db");
    config.listen = "127.0.0.1:0";
    config.tokens = {kToken};
    config.tls_cert_file = pki_.server_cert;
    config.tls_key_file = pki_.server_key;
    config.tls_client_ca_file = pki_.ca;
    config.tick_interval = absl::ZeroDuration();
    auto server = CoordinatorServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // ListWorkers through cli::Client with the given client certificate (none when empty).
  absl::Status Call(const std::string& address, const std::string& cert, const std::string& key) {
    cli::ConnectionOptions options;
    options.address = address;
    options.token = kToken;
    options.tls = true;
    options.ca_pem = ReadPemFile(pki_.ca);
    if (!cert.empty()) {
      options.cert_pem = ReadPemFile(cert);
      options.key_pem = ReadPemFile(key);
    }
    options.timeout = absl::Seconds(5);
    auto client = cli::Client::Create(options);
    return client->Call(client->workers(), &v1::WorkerService::Stub::ListWorkers, v1::ListWorkersRequest())
        .status();
  }
  std::string Address(const std::string& host) const { return host + ":" + std::to_string(server_->port()); }

  ::nmoe::testing::TempDir dir_;
  ::nmoe::testing::TestPki pki_;
  std::unique_ptr<CoordinatorServer> server_;
};

TEST_F(MutualTlsTest, AClientWithACertificateOfTheClientCaIsServed) {
  EXPECT_TRUE(Call(Address("127.0.0.1"), pki_.client_cert, pki_.client_key).ok());
  EXPECT_TRUE(Call(Address("localhost"), pki_.client_cert, pki_.client_key).ok());
}

TEST_F(MutualTlsTest, AClientWithoutACertificateIsRefused) {
  absl::Status s = Call(Address("127.0.0.1"), "", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(MutualTlsTest, AClientWithACertificateOfAnotherCaIsRefused) {
  absl::Status s = Call(Address("127.0.0.1"), pki_.other_client_cert, pki_.other_client_key);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(MutualTlsTest, TheTokenIsStillRequiredOverMutualTls) {
  cli::ConnectionOptions options;
  options.address = Address("127.0.0.1");
  options.tls = true;
  options.ca_pem = ReadPemFile(pki_.ca);
  options.cert_pem = ReadPemFile(pki_.client_cert);
  options.key_pem = ReadPemFile(pki_.client_key);
  auto client = cli::Client::Create(options);
  auto s = client->Call(client->workers(), &v1::WorkerService::Stub::ListWorkers, v1::ListWorkersRequest());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnauthenticated) << s.status();
}

TEST(MutualTlsConfigTest, ClientCaNeedsAServerCertificateAndAReadableFile) {
  ::nmoe::testing::TempDir dir;
  auto pki = ::nmoe::testing::MakeTestPki(dir.path().string());
  ASSERT_TRUE(pki.ok()) << pki.status();
  ServerConfig config;
  config.data_dir = dir.file("db");
  config.listen = "127.0.0.1:0";
  config.tokens = {kToken};
  config.tls_client_ca_file = pki->ca;
  EXPECT_THAT(std::string(CoordinatorServer::Start(config).status().message()), HasSubstr("--tls-client-ca"));
  config.tls_cert_file = pki->server_cert;
  config.tls_key_file = pki->server_key;
  config.tls_client_ca_file = dir.file("missing-ca.pem");
  config.data_dir = dir.file("db2");
  EXPECT_THAT(std::string(CoordinatorServer::Start(config).status().message()), HasSubstr("missing-ca.pem"));
}

}  // namespace
}  // namespace nmoe::coordinator
