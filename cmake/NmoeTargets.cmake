# Helpers that give every nmoe target the same compile settings.

# nmoe_warnings(target): strict warnings on the project's own code.
function(nmoe_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter
    # GCC 12 reports false positives inside absl::StatusOr/protobuf templates.
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  if(NMOE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# nmoe_library(folder SOURCES ... DEPS ...): the library nmoe_<folder>, alias nmoe::<folder>.
function(nmoe_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(nmoe_${name} ${ARG_SOURCES})
  add_library(nmoe::${name} ALIAS nmoe_${name})
  target_include_directories(nmoe_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(nmoe_${name} PUBLIC ${ARG_DEPS})
  nmoe_warnings(nmoe_${name})
endfunction()

# nmoe_executable(name SOURCES ... DEPS ...): a thin main.
function(nmoe_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  nmoe_warnings(${name})
endfunction()
