# randquant_torch_cxx_standard(<out-var>): the C++ standard that the LibTorch
# found by find_package(Torch) needs of the translation units that include
# its headers: 20 from LibTorch 2.12 on (ATen/ATen.h stops with "#error C++20
# or later compatible compiler is required" below it), the torch target's own
# CXX_STANDARD where that is higher (14 in 1.13, 17 in 2.6, 20 in 2.14: CMake
# does not pass that property on to the targets linking torch), and 17,
# randquant's own minimum, otherwise.
function(randquant_torch_cxx_standard out)
  set(_standard 17)
  if(DEFINED Torch_VERSION AND Torch_VERSION VERSION_GREATER_EQUAL 2.12)
    set(_standard 20)
  endif()
  if(TARGET torch)
    get_target_property(_torch_standard torch CXX_STANDARD)
    if(_torch_standard MATCHES "^[0-9]+$" AND _torch_standard GREATER _standard)
      set(_standard ${_torch_standard})
    endif()
  endif()
  set(${out} ${_standard} PARENT_SCOPE)
endfunction()
