# The header-only recipe, as a user types it: configure randquant with its
# defaults and install, with no build step in between.
#
#   cmake -DSOURCE_DIR=<randquant> -DWORK_DIR=<scratch> [-DTorch_DIR=...]
#         [-DGENERATOR=Ninja] [-DMAKE_PROGRAM=...] [-DCXX_COMPILER=...]
#         -P check.cmake
#
# Installs into WORK_DIR/prefix, which the find_package consumer tests then
# build against. Fails when the configure or the install fails, when the
# install lacks the headers or the CMake package, or holds a library (a
# header-only default installs none) or a Python package without its
# operator library.
cmake_minimum_required(VERSION 3.21)
foreach(_var SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check.cmake: -D${_var}=... is required")
  endif()
endforeach()
set(_build ${WORK_DIR}/randquant-build)
set(_prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
set(_args)
if(Torch_DIR)
  list(APPEND _args -DTorch_DIR=${Torch_DIR})
endif()
# The calling build's generator, build tool and compiler (CMake's own
# default generator needs make, which a machine with Ninja alone lacks).
if(GENERATOR)
  list(APPEND _args -G ${GENERATOR})
endif()
if(MAKE_PROGRAM)
  list(APPEND _args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER)
  list(APPEND _args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _out)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${_out}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

run("cmake -S randquant -B build" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${_build} ${_args})
run("cmake --install build --prefix P" ${CMAKE_COMMAND} --install ${_build} --prefix ${_prefix})

foreach(_file include/randquant/randquant.h lib/cmake/randquant/randquantConfig.cmake
    share/randquant/randquant.cpp)
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
message(STATUS "configure and install without a build: ok (${_prefix})")
