# ctest comm_gpu_build_check: configure tests/comm/gpu_build in BIN, build it
# (2 jobs), run its test binary (whose GPU tests skip without a device).
# cmake -DSRC=<nmoe source> -DBIN=<dir> [-DBUILD_TYPE=..] -P gpu_build_check.cmake
foreach(step
    "${CMAKE_COMMAND};-S;${SRC}/tests/comm/gpu_build;-B;${BIN};-G;Ninja;-DCMAKE_BUILD_TYPE=${BUILD_TYPE};-DNMOE_SOURCE_DIR=${SRC}"
    "${CMAKE_COMMAND};--build;${BIN};-j;2"
    "${BIN}/nccl_communicator_test")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "comm GPU build check: '${step}' failed (${rc})")
  endif()
endforeach()
