// The Gloo backend: CPU tensors over TCP. Each communicator owns one
// gloo::Context whose full mesh of connections is formed through the
// rendezvous store (each rank listens on an ephemeral port and publishes its
// address under "<prefix>/...").
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "comm/make_communicator.h"

namespace nmoe::comm {

absl::StatusOr<std::unique_ptr<Communicator>> MakeGlooCommunicator(const CommOptions& options);

}  // namespace nmoe::comm
