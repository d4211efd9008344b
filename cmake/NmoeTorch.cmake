# LibTorch targets share one precompiled header (cmake/torch_pch.h): a TU that
# includes LibTorch drops from ~17-30 s to ~6 s on 2 cores (docs/development.md).
#
# nmoe_torch_library(name SOURCES ... DEPS ...): nmoe_library + torch + the PCH.
# nmoe_use_torch(target): links torch and reuses the PCH (tests, benchmarks, mains).

add_library(nmoe_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cc)
target_link_libraries(nmoe_torch_pch PUBLIC torch)
# -pthread on the PCH and on every user: nmoe::common's dependencies add it, and GCC
# rejects a PCH built with different macros ("not used because `_REENTRANT' is defined").
target_compile_options(nmoe_torch_pch PRIVATE -pthread)
target_precompile_headers(nmoe_torch_pch PUBLIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.h)
nmoe_warnings(nmoe_torch_pch)

function(nmoe_use_torch target)
  target_link_libraries(${target} PRIVATE torch)
  target_compile_options(${target} PRIVATE -pthread)
  # The PCH is built -fPIC (library settings); GCC rejects it under an executable's
  # -fPIE, so executables sharing it compile -fPIC too (links fine into a PIE).
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_precompile_headers(${target} REUSE_FROM nmoe_torch_pch)
endfunction()

function(nmoe_torch_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  nmoe_library(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS} torch)
  target_compile_options(nmoe_${name} PRIVATE -pthread)
  target_precompile_headers(nmoe_${name} REUSE_FROM nmoe_torch_pch)
endfunction()
