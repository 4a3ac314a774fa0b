#!/usr/bin/env bash
# Compile time of one translation unit that calls randquant, against the
# same translation unit with <torch/torch.h> alone, in each way of linking
# randquant; and the one-time cost of randquant's instantiation source
# (compiled once per target by randquant::randquant, once in all by
# randquant::compiled). Every compile is g++ -O3 -DNDEBUG -fopenmp -c, as a
# CMake Release build of a target linking randquant, without ccache; each
# runs RUNS times and the best time is reported, with the marginal cost over
# the torch-only translation unit.
#
#   benchmarks/compile_time.sh [RUNS]      (default 3)
#
# RANDQUANT_ROOT (default: this checkout) selects the headers measured, so
# another version (a `git worktree` of an older commit) can be measured with
# the same method.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cxx=${CXX:-g++}
root=${RANDQUANT_ROOT:-$PWD}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/torch_only.cpp" <<'CPP'
#include <torch/torch.h>
at::Tensor op(const at::Tensor& x) { return x; }
CPP
cat >"$out/randquant.cpp" <<'CPP'
#include <torch/torch.h>
#include <randquant/randquant.h>
at::Tensor op(const at::Tensor& x) { return randquant::randomized_quantize(x); }
CPP
cat >"$out/include_only.cpp" <<'CPP'
#include <torch/torch.h>
#include <randquant/randquant.h>
at::Tensor op(const at::Tensor& x) { return x; }
CPP
flags=(-std=c++17 -O3 -DNDEBUG -fopenmp -D_GLIBCXX_USE_CXX11_ABI=1 -I"$root/include"
  -isystem /usr/include/torch/csrc/api/include)
base=""
best() {  # best [--total] NAME SOURCE EXTRA_FLAGS...: prints the best of RUNS
  local total=""
  if [ "$1" = --total ]; then total=1; shift; fi
  local name=$1 src=$2 t b=""
  shift 2
  for _ in $(seq "$runs"); do
    t=$( { /usr/bin/time -f %e "$cxx" "${flags[@]}" "$@" -c "$src" -o "$out/x.o"; } 2>&1 | tail -n 1)
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
  done
  if [ -n "$total" ]; then
    printf '%-62s %6.1f s  (a whole translation unit)\n' "$name" "$b"
  elif [ -z "$base" ]; then
    base=$b
    printf '%-62s %6.1f s\n' "$name" "$b"
  else
    printf '%-62s %6.1f s  (%+.1f s)\n' "$name" "$b" "$(awk "BEGIN{print $b - $base}")"
  fi
}
echo "compile time of one translation unit (best of $runs, $(nproc) cores, $($cxx --version | head -n 1))"
echo "headers: $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
best "<torch/torch.h> alone" "$out/torch_only.cpp"
best "+ <randquant/randquant.h>, no call" "$out/include_only.cpp"
best "+ a call, default (randquant::randquant)" "$out/randquant.cpp" -DRANDQUANT_COMPILED
best "+ a call, headers alone (randquant::headers)" "$out/randquant.cpp"
if [ -f "$root/src/randquant.cpp" ]; then
  best --total "instantiation source, once per target (src/randquant.cpp)" "$root/src/randquant.cpp" \
    -DRANDQUANT_COMPILED
fi
