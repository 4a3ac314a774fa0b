#!/usr/bin/env bash
# Compile time of one translation unit that calls randquant, in both modes,
# against the same translation unit calling an ATen op only. Each is
# compiled (g++ -O2 -c, as a Release build, no ccache) RUNS times; the best
# time is reported. Usage: benchmarks/compile_time.sh [RUNS] (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cxx=${CXX:-g++}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/aten_only.cpp" <<'CPP'
#include <ATen/ATen.h>
at::Tensor op(const at::Tensor& x) { return x.clamp(0, 1); }
CPP
cat >"$out/randquant.cpp" <<'CPP'
#include <randquant/randquant.h>
at::Tensor op(const at::Tensor& x) { return randquant::randomized_quantize(x); }
CPP
flags=(-std=c++17 -O2 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=1 -Iinclude
  -isystem /usr/include/torch/csrc/api/include)
best() {  # best NAME SOURCE EXTRA_FLAGS...: prints the best of RUNS, seconds
  local name=$1 src=$2 t b=""
  shift 2
  for _ in $(seq "$runs"); do
    t=$( { /usr/bin/time -f %e "$cxx" "${flags[@]}" "$@" -c "$src" -o "$out/x.o"; } 2>&1 | tail -n 1)
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
  done
  printf '%-52s %6.1f s\n' "$name" "$b"
}
echo "compile time of one translation unit (best of $runs, $(nproc) cores, $($cxx --version | head -n 1))"
best "ATen only (<ATen/ATen.h>, one op)" "$out/aten_only.cpp"
best "randquant header-only (randquant::randquant)" "$out/randquant.cpp"
best "randquant compiled (randquant::compiled)" "$out/randquant.cpp" -DRANDQUANT_COMPILED
