// Reading the members of a tar archive held in memory (the output of
// `dpkg-deb --fsys-tarfile`): POSIX ustar headers, GNU long names ('L') and pax
// extended headers ('x', path only).
#pragma once

#include <functional>
#include <string_view>

#include "absl/status/status.h"

namespace nmoe::data {

// Calls `visit(path, content)` for every regular file, in archive order; `path` has a
// leading "./" removed. Stops at the end-of-archive marker or at the end of `tar`.
// DATA_LOSS on a bad header checksum or a member running past the end of `tar`.
absl::Status ForEachTarFile(std::string_view tar,
                            const std::function<absl::Status(std::string_view path, std::string_view content)>& visit);

}  // namespace nmoe::data
