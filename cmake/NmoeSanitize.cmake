# Sanitizer and fuzzing builds of the torch-free code (docs/development.md,
# "Sanitizers and fuzzing").
#
#   -DNMOE_SANITIZE=address  AddressSanitizer + UndefinedBehaviorSanitizer on every
#                            target (UB aborts: -fno-sanitize-recover=undefined).
#                            LibTorch and the folders that need it (compute, comm,
#                            profiler, trainer, worker, model's decoder, bench/) are
#                            not configured: NMOE_WITH_TORCH is OFF.
#   -DNMOE_SANITIZE=thread   ThreadSanitizer (scripts/tsan.sh: the coordinator's,
#                            storage's and common's tests); same torch-free folders.
#   -DNMOE_FUZZ=ON           also the libFuzzer targets of fuzz/ (clang only; needs
#                            NMOE_SANITIZE). Every target gets coverage hooks
#                            (-fsanitize=fuzzer-no-link), the fuzzers link libFuzzer.
#
# System libraries (gRPC, protobuf, RocksDB, abseil) stay uninstrumented: ASan
# still checks every access made by nmoe's code and intercepts their allocations.
set(NMOE_SANITIZE "" CACHE STRING "Sanitizer build of the torch-free code: '', 'address' (ASan+UBSan) or 'thread' (TSan)")
option(NMOE_FUZZ "Build the libFuzzer targets of fuzz/ (clang, with NMOE_SANITIZE)" OFF)

set(NMOE_WITH_TORCH ON)
if(NMOE_SANITIZE STREQUAL "")
  if(NMOE_FUZZ)
    message(FATAL_ERROR "NMOE_FUZZ=ON needs -DNMOE_SANITIZE=address")
  endif()
  return()
endif()
if(NMOE_SANITIZE STREQUAL "thread")
  # ThreadSanitizer (scripts/tsan.sh): the coordinator's tests; any compiler.
  if(NMOE_FUZZ)
    message(FATAL_ERROR "NMOE_FUZZ=ON needs -DNMOE_SANITIZE=address")
  endif()
  set(NMOE_WITH_TORCH OFF)
  set(NMOE_BUILD_BENCH OFF CACHE BOOL "" FORCE)
  # -U__SANITIZE_THREAD__: headers of the uninstrumented system libraries must keep
  # their layout (protobuf's MapFieldBase grows two members under TSan otherwise).
  add_compile_options(-fsanitize=thread -U__SANITIZE_THREAD__ -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  return()
endif()
if(NOT NMOE_SANITIZE STREQUAL "address")
  message(FATAL_ERROR "NMOE_SANITIZE: 'address' (ASan + UBSan) or 'thread' (TSan), got '${NMOE_SANITIZE}'")
endif()
if(NMOE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "NMOE_FUZZ=ON needs clang (-DCMAKE_CXX_COMPILER=clang++-14)")
endif()

set(NMOE_WITH_TORCH OFF)
set(NMOE_BUILD_BENCH OFF CACHE BOOL "" FORCE)
add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
if(NMOE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
