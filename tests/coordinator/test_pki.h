// Certificates for TLS tests, made by the openssl command line in a temp dir:
// a CA, a server certificate for localhost/127.0.0.1 and a client certificate
// it signs, and a second CA with a client certificate of its own.
#pragma once

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace nmoe::testing {

struct TestPki {
  std::string ca, server_cert, server_key, client_cert, client_key;  // paths (PEM)
  std::string other_ca, other_client_cert, other_client_key;         // a CA the server does not trust
};

inline std::string ReadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes the files under `dir` (P-256 keys, valid one day).
inline absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  TestPki p;
  const auto f = [&](const std::string& name) { return dir + "/" + name; };
  p.ca = f("ca.pem");
  p.server_cert = f("server.pem");
  p.server_key = f("server.key");
  p.client_cert = f("client.pem");
  p.client_key = f("client.key");
  p.other_ca = f("other-ca.pem");
  p.other_client_cert = f("other-client.pem");
  p.other_client_key = f("other-client.key");
  std::ofstream(f("server.ext")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
  std::ofstream(f("client.ext")) << "extendedKeyUsage=clientAuth\n";
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const auto make_ca = [&](const std::string& cert, const std::string& name) {
    return absl::StrCat("openssl req -x509", key, " -days 1 -subj /CN=", name, " -keyout ", cert, ".key -out ",
                        cert, " && ");
  };
  const auto make_leaf = [&](const std::string& ca, const std::string& cert, const std::string& cert_key,
                             const std::string& cn, const std::string& ext) {
    return absl::StrCat("openssl req", key, " -subj /CN=", cn, " -keyout ", cert_key, " -out ", cert,
                        ".csr && openssl x509 -req -in ", cert, ".csr -CA ", ca, " -CAkey ", ca,
                        ".key -CAcreateserial -days 1 -extfile ", ext, " -out ", cert, " && ");
  };
  const std::string command =
      absl::StrCat("(", make_ca(p.ca, "nmoe-test-ca"), make_ca(p.other_ca, "nmoe-other-ca"),
                   make_leaf(p.ca, p.server_cert, p.server_key, "localhost", f("server.ext")),
                   make_leaf(p.ca, p.client_cert, p.client_key, "nmoe-worker", f("client.ext")),
                   make_leaf(p.other_ca, p.other_client_cert, p.other_client_key, "intruder", f("client.ext")),
                   "true) >", f("openssl.log"), " 2>&1");
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl failed:\n", ReadPemFile(f("openssl.log"))));
  }
  return p;
}

}  // namespace nmoe::testing
