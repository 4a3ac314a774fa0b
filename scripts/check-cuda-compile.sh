#!/usr/bin/env bash
# Compiles the CUDA component to object files with nvcc (sm_80 and sm_90) on
# a machine without a GPU or a CUDA LibTorch, so a CUDA compile error fails
# CI. Debian's libtorch-dev ships the ATen/c10 CUDA headers but lacks the
# generated c10/cuda/impl/cuda_cmake_macros.h: a shim provides it.
# Nothing is linked or run here (see scripts/gpu-check.sh for that).
set -euo pipefail
cd "$(dirname "$0")/.."
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
if [ ! -x "$nvcc" ]; then
  echo "check-cuda-compile: no nvcc at $nvcc; skipped"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/shim/c10/cuda/impl"
echo '#define C10_CUDA_BUILD_SHARED_LIBS' > "$out/shim/c10/cuda/impl/cuda_cmake_macros.h"
torch_include=${TORCH_INCLUDE:-/usr/include}
for arch in 80 90; do
  "$nvcc" -std=c++17 -O2 -arch=sm_$arch --expt-relaxed-constexpr --fmad=false \
    -Xcompiler -ffp-contract=off -Iinclude -I"$out/shim" -I"$torch_include" \
    -I"$torch_include/torch/csrc/api/include" \
    -c src/cuda/randquant.cu -o "$out/randquant_sm$arch.o"
  echo "check-cuda-compile: src/cuda/randquant.cu -> sm_$arch object ($(stat -c %s "$out/randquant_sm$arch.o") bytes)"
done
