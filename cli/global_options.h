// Flags every nmoectl command takes, and their resolution against the
// environment: an explicit flag wins over the environment, which wins over
// the default.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/output.h"
#include "common/role.h"

namespace nmoe::cli {

inline constexpr char kDefaultAddress[] = "127.0.0.1:7070";
inline constexpr char kDefaultTimeout[] = "10s";

// The global flags as given on the command line (empty = not given).
struct GlobalFlags {
  std::string address;     // --address; env NMOE_ADDRESS; default kDefaultAddress
  std::string token;       // --token; env NMOE_TOKEN
  std::string token_file;  // --token-file; env NMOE_TOKEN_FILE (first token of the file)
  bool tls = false;        // --tls: TLS channel (implied by --ca)
  std::string ca_file;     // --ca: PEM roots for TLS; empty = the system's roots
  std::string tls_cert_file, tls_key_file;  // --tls-cert/--tls-key: client certificate (mTLS)
  // The role whose token a token file's entries are picked for (common/token_file.h
  // PickToken): nmoe-worker prefers a "worker" line; nullopt = the first line.
  std::optional<Role> prefer_role;
  std::string timeout = kDefaultTimeout;  // --timeout: deadline of every unary call
  std::string output = "table";           // -o / --output
};

// Reads an environment variable; nullopt when unset. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv); empty values count as unset.
EnvLookup ProcessEnv();

// How to reach the coordinator.
struct ConnectionOptions {
  std::string address = kDefaultAddress;
  std::string token;  // empty: no "authorization" metadata
  bool tls = false;
  std::string ca_pem;  // PEM root certificates; empty with tls = system roots
  std::string cert_pem, key_pem;  // client certificate chain and key (mutual TLS); empty = none
  absl::Duration timeout = absl::Seconds(10);
  // Cap of gRPC's own reconnect backoff after the connection broke; 0 = gRPC's
  // default (120 s). Long-lived clients (nmoe-worker) set a few seconds.
  absl::Duration max_reconnect_backoff = absl::ZeroDuration();
};

struct GlobalOptions {
  ConnectionOptions connection;
  OutputFormat output = OutputFormat::kTable;
};

// "10s", "500ms", "1m30s" (absl::ParseDuration) or a bare number of
// seconds ("10", "2.5"). Must be positive. UsageError otherwise.
absl::StatusOr<absl::Duration> ParseTimeout(std::string_view text);

// Resolves the flags. The token comes from the first of: --token,
// --token-file, NMOE_TOKEN, NMOE_TOKEN_FILE. Reads the token, CA and client
// certificate files (--tls-cert/--tls-key imply --tls).
// Without --address and NMOE_ADDRESS, a ./.nmoe/local.json of `nmoectl local
// up` gives the address (and the token file when no token is given).
// All errors are UsageError (exit code 2) naming the flag or variable.
absl::StatusOr<GlobalOptions> ResolveGlobalOptions(const GlobalFlags& flags, const EnvLookup& env);

}  // namespace nmoe::cli
