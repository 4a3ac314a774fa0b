#!/usr/bin/env bash
# Compiles the CUDA code on a machine without a GPU or a CUDA LibTorch, so a
# CUDA compile error fails CI:
#  - nvcc: the CUDA component (src/cuda/randquant.cu) to one object file with
#    device code for each architecture;
#  - g++ -fsyntax-only: tests/test_cuda_graph.cpp, the one test source that
#    uses LibTorch's CUDA API (it is built only with the CUDA component).
# Debian's libtorch-dev ships the ATen/c10 CUDA headers but lacks the
# generated c10/cuda/impl/cuda_cmake_macros.h: a shim provides it.
# Nothing is linked or run here (see scripts/gpu-check.sh for that).
#
# Environment: NVCC (/usr/local/cuda/bin/nvcc); TORCH_INCLUDE, the LibTorch
# include root (/usr/include: bookworm's 1.13; scripts/check-libtorch2.sh
# passes Debian trixie's 2.6 or sid's 2.14); CUDA_ARCHS ("80 90"); CXX_STD, the
# standard (c++17; LibTorch 2.12 and later need c++20).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
nvcc_or_skip check-cuda-compile 0
cuda_include=$(dirname "$(dirname "$(readlink -f "$nvcc")")")/include
torch_include=${TORCH_INCLUDE:-/usr/include}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/shim/c10/cuda/impl"
echo '#define C10_CUDA_BUILD_SHARED_LIBS' > "$out/shim/c10/cuda/impl/cuda_cmake_macros.h"
includes=(-Iinclude -I"$out/shim")
# /usr/include is a system folder already: naming it again would break
# libstdc++'s #include_next.
[ "$torch_include" = /usr/include ] || includes+=(-isystem "$torch_include")
includes+=(-isystem "$torch_include/torch/csrc/api/include")

# With another LibTorch than the system's, a header that it lacks would be
# found in the system's 1.13 install instead: the dependency list must not
# name any.
check_deps() {  # check_deps DEPFILE WHAT
  [ "$torch_include" = /usr/include ] && return 0
  local mixed
  mixed=$(tr ' \\' '\n\n' <"$1" | grep -E '^/usr/include/(ATen|c10|caffe2|torch)/' | head -n 1 || true)
  if [ -n "$mixed" ]; then
    echo "check-cuda-compile: $2 used a header of the system's LibTorch: $mixed" >&2
    return 1
  fi
}

# One nvcc run for every architecture: the host side (LibTorch's headers)
# is compiled once, the device code once per architecture.
archs=(${CUDA_ARCHS:-80 90})
gencode=()
for arch in "${archs[@]}"; do
  gencode+=(-gencode "arch=compute_$arch,code=sm_$arch")
done
"$nvcc" -std="${CXX_STD:-c++17}" -O2 "${gencode[@]}" --expt-relaxed-constexpr --fmad=false \
  -ftz=false -prec-div=true -prec-sqrt=true \
  -Xcompiler -ffp-contract=off "${includes[@]}" -MD -MF "$out/cu.d" \
  -c src/cuda/randquant.cu -o "$out/randquant.o"
check_deps "$out/cu.d" src/cuda/randquant.cu
echo "check-cuda-compile: src/cuda/randquant.cu -> object for$(printf ' sm_%s' "${archs[@]}") ($(stat -c %s "$out/randquant.o") bytes), headers $torch_include"
${CXX:-g++} -std="${CXX_STD:-c++17}" -fsyntax-only -Wall -Wextra "${includes[@]}" \
  -isystem "$cuda_include" -Itests -MD -MF "$out/graph.d" tests/test_cuda_graph.cpp
check_deps "$out/graph.d" tests/test_cuda_graph.cpp
echo "check-cuda-compile: tests/test_cuda_graph.cpp compiles (g++ -fsyntax-only), headers $torch_include"
