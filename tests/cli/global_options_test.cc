#include "cli/global_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/errors.h"

namespace nmoe::cli {
namespace {

using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()))).string();
  std::ofstream(path) << text;
  return path;
}

TEST(ParseTimeoutTest, DurationsAndBareSeconds) {
  EXPECT_EQ(*ParseTimeout("10s"), absl::Seconds(10));
  EXPECT_EQ(*ParseTimeout("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseTimeout("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseTimeout("2.5"), absl::Milliseconds(2500));
  for (const char* bad : {"", "0s", "-1s", "soon", "inf"}) {
    absl::StatusOr<absl::Duration> d = ParseTimeout(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_TRUE(IsUsageError(d.status())) << bad;
  }
}

TEST(ResolveTest, Defaults) {
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(GlobalFlags(), FakeEnv({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.address, "127.0.0.1:7070");
  EXPECT_EQ(o->connection.token, "");
  EXPECT_FALSE(o->connection.tls);
  EXPECT_EQ(o->connection.timeout, absl::Seconds(10));
  EXPECT_EQ(o->output, OutputFormat::kTable);
}

TEST(ResolveTest, FlagsWinOverEnvironment) {
  GlobalFlags flags;
  flags.address = "coord:9000";
  flags.token = "from-flag";
  flags.output = "yaml";
  flags.timeout = "3s";
  absl::StatusOr<GlobalOptions> o =
      ResolveGlobalOptions(flags, FakeEnv({{"NMOE_ADDRESS", "env:1"}, {"NMOE_TOKEN", "from-env"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.address, "coord:9000");
  EXPECT_EQ(o->connection.token, "from-flag");
  EXPECT_EQ(o->connection.timeout, absl::Seconds(3));
  EXPECT_EQ(o->output, OutputFormat::kYaml);
}

TEST(ResolveTest, EnvironmentFillsMissingFlags) {
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(
      GlobalFlags(), FakeEnv({{"NMOE_ADDRESS", "env:1"}, {"NMOE_TOKEN", "from-env"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.address, "env:1");
  EXPECT_EQ(o->connection.token, "from-env");
}

TEST(ResolveTest, TokenFilePrecedence) {
  const std::string file = WriteTemp("nmoectl-token", "# comment\n  file-token  \nsecond\n");
  GlobalFlags flags;
  flags.token_file = file;
  // --token-file beats NMOE_TOKEN; the file's first token is used.
  absl::StatusOr<GlobalOptions> o =
      ResolveGlobalOptions(flags, FakeEnv({{"NMOE_TOKEN", "from-env"}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.token, "file-token");
  // NMOE_TOKEN beats NMOE_TOKEN_FILE.
  o = ResolveGlobalOptions(GlobalFlags(),
                           FakeEnv({{"NMOE_TOKEN", "from-env"}, {"NMOE_TOKEN_FILE", file}}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->connection.token, "from-env");
  o = ResolveGlobalOptions(GlobalFlags(), FakeEnv({{"NMOE_TOKEN_FILE", file}}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->connection.token, "file-token");
  std::remove(file.c_str());
}

TEST(ResolveTest, BadFilesAreUsageErrorsNamingTheFlag) {
  GlobalFlags flags;
  flags.token_file = "/nonexistent/token";
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(IsUsageError(o.status()));
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("--token-file /nonexistent/token"));

  const std::string not_pem = WriteTemp("nmoectl-ca", "hello\n");
  flags = GlobalFlags();
  flags.ca_file = not_pem;
  o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(IsUsageError(o.status()));
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("no PEM certificate"));
  std::remove(not_pem.c_str());
}

TEST(ResolveTest, CaImpliesTls) {
  const std::string pem =
      WriteTemp("nmoectl-ca-ok", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
  GlobalFlags flags;
  flags.ca_file = pem;
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->connection.tls);
  EXPECT_THAT(o->connection.ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  std::remove(pem.c_str());
}

TEST(ResolveTest, ClientCertificateImpliesTlsAndNeedsItsKey) {
  const std::string cert =
      WriteTemp("nmoectl-cert", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
  const std::string key = WriteTemp("nmoectl-key", "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n");
  GlobalFlags flags;
  flags.tls_cert_file = cert;
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("--tls-cert and --tls-key go together"));
  flags.tls_key_file = cert;  // a certificate is no key
  o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("--tls-key " + cert + ": no PEM private key"));
  flags.tls_key_file = key;
  o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->connection.tls);
  EXPECT_THAT(o->connection.cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(o->connection.key_pem, HasSubstr("BEGIN PRIVATE KEY"));
  std::remove(cert.c_str());
  std::remove(key.c_str());
}

TEST(ResolveTest, RoleTokenFilesGiveTheFirstLineOrThePreferredRole) {
  const std::string file = WriteTemp("nmoectl-roles", "admin adm-tok\nworker wrk-tok\n");
  GlobalFlags flags;
  flags.token_file = file;
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.token, "adm-tok");  // nmoectl: the first line
  flags.prefer_role = Role::kWorker;           // nmoe-worker
  o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.token, "wrk-tok");
  GlobalFlags from_env;
  from_env.prefer_role = Role::kWorker;
  o = ResolveGlobalOptions(from_env, FakeEnv({{"NMOE_TOKEN_FILE", file}}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->connection.token, "wrk-tok");
  std::remove(file.c_str());
}

TEST(ResolveTest, BadOutputAndTimeout) {
  GlobalFlags flags;
  flags.output = "xml";
  absl::StatusOr<GlobalOptions> o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(IsUsageError(o.status()));
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("--output"));
  flags = GlobalFlags();
  flags.timeout = "fast";
  o = ResolveGlobalOptions(flags, FakeEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("--timeout"));
}

TEST(ErrorsTest, ExitCodesAndMessages) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(UsageError("bad flag")), 2);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("spec.profile.top_n: too big")), 4);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("down")), 4);
  EXPECT_EQ(FormatError(UsageError("bad flag")), "error: bad flag");
  EXPECT_EQ(FormatError(absl::UnauthenticatedError("missing bearer token")),
            "error: UNAUTHENTICATED: missing bearer token");
  EXPECT_FALSE(IsUsageError(absl::InvalidArgumentError("x")));
}

}  // namespace
}  // namespace nmoe::cli
