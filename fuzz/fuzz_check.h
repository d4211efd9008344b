// Invariant checks inside fuzz targets: a broken contract aborts, which
// libFuzzer reports as a crash and saves the input (fuzz/README.md).
#pragma once

#include <cstdio>
#include <cstdlib>

#define NMOE_FUZZ_CHECK(cond)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                          \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
