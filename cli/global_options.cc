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

absl::StatusOr<std::string> TokenFromFile(const std::string& path, const std::string& source) {
  absl::StatusOr<std::vector<std::string>> tokens = ReadTokenFile(path);
  if (!tokens.ok()) {
    return UsageError(
        fmt::format("{} {}: {}", source, path, std::string(tokens.status().message())));
  }
  return tokens->front();  // ReadTokenFile never returns an empty list.
}

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return UsageError(fmt::format("--ca {}: cannot open: {}", path, std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string pem = buffer.str();
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return UsageError(fmt::format("--ca {}: no PEM certificate in the file", path));
  }
  return pem;
}

absl::StatusOr<std::string> ResolveToken(const GlobalFlags& flags, const EnvLookup& env) {
  if (!flags.token.empty()) return flags.token;
  if (!flags.token_file.empty()) return TokenFromFile(flags.token_file, "--token-file");
  if (std::optional<std::string> token = env("NMOE_TOKEN")) return *token;
  if (std::optional<std::string> file = env("NMOE_TOKEN_FILE")) {
    return TokenFromFile(*file, "NMOE_TOKEN_FILE");
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
        absl::StatusOr<std::string> local_token = TokenFromFile((*local)->token_file, kLocalStateFile);
        if (!local_token.ok()) return local_token.status();
        c.token = *std::move(local_token);
      }
    }
  }
  c.tls = flags.tls || !flags.ca_file.empty();
  if (!flags.ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadPem(flags.ca_file);
    if (!pem.ok()) return pem.status();
    c.ca_pem = *std::move(pem);
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
