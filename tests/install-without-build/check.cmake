# The header-only recipe, as a user types it: configure randquant with its
# defaults and install, with no build step in between, then build a program
# against the installed package.
#
#   cmake -DSOURCE_DIR=<randquant> -DWORK_DIR=<scratch> [-DTorch_DIR=...]
#         [-DLAUNCHER=ccache] -P check.cmake
#
# Fails when the configure or the install fails, when the install holds a
# library (a header-only default installs none) or a Python package without
# its operator library, or when the consumer does not build and run.
cmake_minimum_required(VERSION 3.21)
foreach(_var SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check.cmake: -D${_var}=... is required")
  endif()
endforeach()
set(_build ${WORK_DIR}/randquant-build)
set(_prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
set(_torch)
if(Torch_DIR)
  set(_torch -DTorch_DIR=${Torch_DIR})
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${_out}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

run("cmake -S randquant -B build" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${_build} ${_torch})
run("cmake --install build --prefix P" ${CMAKE_COMMAND} --install ${_build} --prefix ${_prefix})

foreach(_file include/randquant/randquant.h lib/cmake/randquant/randquantConfig.cmake)
  if(NOT EXISTS ${_prefix}/${_file})
    message(FATAL_ERROR "the install lacks ${_file}")
  endif()
endforeach()
file(GLOB_RECURSE _libraries ${_prefix}/*.a ${_prefix}/*.so ${_prefix}/*.o)
if(_libraries)
  message(FATAL_ERROR "a header-only install holds libraries: ${_libraries}")
endif()
file(GLOB_RECURSE _python ${_prefix}/*.py)
if(_python)
  message(FATAL_ERROR "the install holds a Python package without its operator library: ${_python}")
endif()

set(_consumer ${WORK_DIR}/consumer-build)
set(_launcher)
if(LAUNCHER)
  set(_launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("consumer: configure" ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${_consumer}
    -DCMAKE_PREFIX_PATH=${_prefix} ${_torch} ${_launcher})
run("consumer: build" ${CMAKE_COMMAND} --build ${_consumer})
run("consumer: run" ${_consumer}/consumer)
message(STATUS "configure, install without a build, consume: ok")
