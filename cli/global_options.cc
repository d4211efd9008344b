#include "cli/global_options.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "cli/errors.h"
#include "cli/local_state.h"
#include "common/token_file.h"

namespace nmoe::cli {
namespace {

absl::StatusOr<std::string> TokenFromFile(const std::string& path, const std::string& source,
                                          std::optional<Role> prefer_role) {
  absl::StatusOr<std::vector<TokenEntry>> tokens = ReadTokenEntries(path);
  if (!tokens.ok()) {
    return UsageError(
        fmt::format("{} {}: {}", source, path, std::string(tokens.status().message())));
  }
  return PickToken(*tokens, prefer_role).token;
}

// The file's contents when it holds `marker` (part of a PEM block's header).
absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& flag, const std::string& marker,
                                    const std::string& noun) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return UsageError(fmt::format("{} {}: cannot open: {}", flag, path, std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string pem = buffer.str();
  if (pem.find(marker) == std::string::npos) {
    return UsageError(fmt::format("{} {}: no PEM {} in the file", flag, path, noun));
  }
  return pem;
}

absl::StatusOr<std::string> ResolveToken(const GlobalFlags& flags, const EnvLookup& env) {
  if (!flags.token.empty()) return flags.token;
  if (!flags.token_file.empty()) return TokenFromFile(flags.token_file, "--token-file", flags.prefer_role);
  if (std::optional<std::string> token = env("NMOE_TOKEN")) return *token;
  if (std::optional<std::string> file = env("NMOE_TOKEN_FILE")) {
    return TokenFromFile(*file, "NMOE_TOKEN_FILE", flags.prefer_role);
  }
  return std::string();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<absl::Duration> ParseTimeout(std::string_view text) {
  const std::string s(text);
  absl::Duration d;
  double seconds;
  if (absl::SimpleAtod(s, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(s, &d)) {
    return UsageError(fmt::format("invalid duration \"{}\" (examples: 10s, 500ms, 2m)", s));
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return UsageError(fmt::format("duration \"{}\" must be positive and finite", s));
  }
  return d;
}

absl::StatusOr<GlobalOptions> ResolveGlobalOptions(const GlobalFlags& flags, const EnvLookup& env) {
  GlobalOptions options;
  ConnectionOptions& c = options.connection;
  if (!flags.address.empty()) {
    c.address = flags.address;
  } else if (std::optional<std::string> address = env("NMOE_ADDRESS")) {
    c.address = *address;
  }
  absl::StatusOr<std::string> token = ResolveToken(flags, env);
  if (!token.ok()) return token.status();
  c.token = *std::move(token);
  if (flags.address.empty() && !env("NMOE_ADDRESS")) {
    // `nmoectl local up` in this folder: its coordinator (and token, if none given).
    absl::StatusOr<std::optional<LocalState>> local = ReadLocalState(kLocalStateFile);
    if (local.ok() && local->has_value()) {
      c.address = (*local)->address;
      if (c.token.empty()) {
        absl::StatusOr<std::string> local_token =
            TokenFromFile((*local)->token_file, kLocalStateFile, flags.prefer_role);
        if (!local_token.ok()) return local_token.status();
        c.token = *std::move(local_token);
      }
    }
  }
  c.tls = flags.tls || !flags.ca_file.empty();
  if (!flags.ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadPem(flags.ca_file, "--ca", "-----BEGIN CERTIFICATE-----", "certificate");
    if (!pem.ok()) return pem.status();
    c.ca_pem = *std::move(pem);
  }
  if (flags.tls_cert_file.empty() != flags.tls_key_file.empty()) {
    return UsageError("--tls-cert and --tls-key go together");
  }
  if (!flags.tls_cert_file.empty()) {
    c.tls = true;
    absl::StatusOr<std::string> cert =
        ReadPem(flags.tls_cert_file, "--tls-cert", "-----BEGIN CERTIFICATE-----", "certificate");
    if (!cert.ok()) return cert.status();
    c.cert_pem = *std::move(cert);
    // Also matches "RSA PRIVATE KEY" and "EC PRIVATE KEY" blocks.
    absl::StatusOr<std::string> key = ReadPem(flags.tls_key_file, "--tls-key", "PRIVATE KEY-----", "private key");
    if (!key.ok()) return key.status();
    c.key_pem = *std::move(key);
  }
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(flags.timeout);
  if (!timeout.ok()) return UsageError("--timeout: " + std::string(timeout.status().message()));
  c.timeout = *timeout;
  absl::StatusOr<OutputFormat> output = ParseOutputFormat(flags.output);
  if (!output.ok()) return UsageError("--output: " + std::string(output.status().message()));
  options.output = *output;
  return options;
}

}  // namespace nmoe::cli
