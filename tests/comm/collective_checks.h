// Every collective on hand-computed inputs and expected values, shared by the
// in-process (threads) and multi-process tests. Rank r's inputs depend only on
// r and the world size W, so each rank checks its own results.
#pragma once

#include "absl/status/status.h"
#include "comm/communicator.h"

namespace nmoe::comm::testing {

// OK when every collective returned the expected values; otherwise the first
// failing check, named.
absl::Status CheckAllCollectives(Communicator& comm);

}  // namespace nmoe::comm::testing
