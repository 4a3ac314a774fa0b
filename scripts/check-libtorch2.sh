#!/usr/bin/env bash
# Compiles randquant against LibTorch 2.x headers: Debian trixie's
# libtorch-dev 2.6 (or another suite's: RANDQUANT_LIBTORCH2_SUITE=sid gives
# 2.14), downloaded (not installed) next to bookworm's 1.13.
#
#   scripts/check-libtorch2.sh [--cuda-only]
#
# --cuda-only skips step 2 (CI builds and tests everything against 2.6 and
# 2.14 for real in Debian roots, scripts/test-stack.sh; nvcc is not there).
#
# 1. Unless the cache holds them, downloads trixie's libtorch-dev with
#    apt-get (its own sources list, package lists and cache under the cache
#    folder; the system's apt state is not touched) and unpacks it with
#    dpkg -x into $RANDQUANT_LIBTORCH2_CACHE (default .cache/libtorch-2.6).
#    Its headers need no other package's headers: libtorch-dev 2.6 ships
#    ATen, c10, caffe2 and torch (its dependencies libtorch2.6, python3-dev
#    and libprotobuf-dev are for linking and Python; nothing here includes
#    them).
# 2. `g++ -std=c++17 -fsyntax-only` (C++20 from LibTorch 2.12) of every public header alone (a one-line
#    TU each), tests/*.cpp (but test_cuda_graph.cpp, see 3), tests/tsan/*.cpp, examples/*.cpp,
#    examples/ssl/main.cpp, benchmarks/*.cpp and src/randquant.cpp (with
#    RANDQUANT_COMPILED: the extern declarations, then the definitions),
#    with the 2.6 headers first
#    and /usr/include (GoogleTest, Google Benchmark, stb) after them.
#    bookworm's own LibTorch 1.13 headers also live in /usr/include, so each
#    TU's dependency list is checked too: a header of the 1.13 install
#    (/usr/include/{ATen,c10,torch,caffe2,...}) means the TU used a header
#    that 2.6 lacks, and fails the check.
# 3. scripts/check-cuda-compile.sh with the 2.x headers: nvcc of the CUDA
#    component (sm_90) and tests/test_cuda_graph.cpp (skipped without nvcc).
# Environment: RANDQUANT_LIBTORCH2_CACHE, RANDQUANT_LIBTORCH2_SUITE (trixie),
# RANDQUANT_LIBTORCH2_MIRROR (http://deb.debian.org/debian), CXX (g++),
# RANDQUANT_LIBTORCH2_JOBS (2). Exits non-zero on any compile error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite=${RANDQUANT_LIBTORCH2_SUITE:-trixie}
cache=${RANDQUANT_LIBTORCH2_CACHE:-.cache/libtorch-$suite}
mirror=${RANDQUANT_LIBTORCH2_MIRROR:-http://deb.debian.org/debian}
cxx=${CXX:-g++}
jobs=${RANDQUANT_LIBTORCH2_JOBS:-2}
start=$SECONDS

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
if [ ! -f "$cache/complete" ]; then
  echo "== check-libtorch2: downloading $suite's libtorch-dev into $cache"
  apt=$cache/apt
  rm -rf "$apt" "$cache/root"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  echo "deb $mirror $suite main" >"$apt/sources.list"
  : >"$apt/status"  # nothing installed, as far as this apt knows
  opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
        -o "Dir::Cache=$apt/cache" -o "APT::Get::List-Cleanup=0"
        -o "Acquire::Check-Valid-Until=false")  # a snapshot mirror's sid is "expired"
  # As root apt downloads as user _apt, who cannot write to our folder.
  [ "$(id -u)" -eq 0 ] && opts+=(-o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" -qq update
  (cd "$apt/debs" && apt-get "${opts[@]}" -qq download libtorch-dev)
  deb=$(ls "$apt"/debs/libtorch-dev_*.deb)
  dpkg -x "$deb" "$cache/root"
  dpkg-deb -f "$deb" Version >"$cache/version"
  rm -rf "$apt/lists" "$apt/cache"  # keep the .deb, drop the package lists
  touch "$cache/complete"
else
  echo "== check-libtorch2: using the cached headers in $cache"
fi
version=$(cat "$cache/version")
inc=$cache/root/usr/include
echo "check-libtorch2: libtorch-dev $version ($((SECONDS - start)) s)"
case $version in
  2.*) ;;
  *) echo "check-libtorch2: expected a 2.x libtorch-dev, got $version" >&2; exit 1 ;;
esac
# ATen needs C++20 from 2.12 on (randquant's CMake package asks for it then).
minor=$(echo "$version" | cut -d. -f2)
std=c++17
[ "$minor" -ge 12 ] && std=c++20
export CXX_STD=$std

if [ "${1:-}" = --cuda-only ]; then
  echo "== check-libtorch2: CUDA sources against libtorch-dev $version"
  TORCH_INCLUDE=$inc CUDA_ARCHS=${RANDQUANT_LIBTORCH2_CUDA_ARCHS:-90} \
    "$root/scripts/check-cuda-compile.sh"
  echo "check-libtorch2: done against libtorch-dev $version (total $((SECONDS - start)) s)"
  exit 0
fi

# The top-level folders the 2.x package installs under /usr/include: a
# dependency on the same folder of the system's /usr/include is a 1.13 header.
owned=$(find "$inc" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | paste -sd'|')

work=$cache/work
rm -rf "$work"
mkdir -p "$work/tu" "$work/log"
sources=()
while IFS= read -r header; do
  name=${header#include/}
  tu=$work/tu/header_${name//\//_}.cpp
  echo "#include \"$name\"" >"$tu"
  sources+=("$tu")
done < <(find include -name '*.h' | sort)
# randquant::compiled's source, as built (extern declarations, then the
# explicit instantiations).
printf '#define RANDQUANT_COMPILED\n#include "%s/src/randquant.cpp"\n' "$root" \
  >"$work/tu/compiled_library.cpp"
sources+=("$work/tu/compiled_library.cpp")
for f in tests/*.cpp tests/tsan/*.cpp examples/*.cpp examples/ssl/main.cpp benchmarks/*.cpp; do
  [ "$f" = tests/test_cuda_graph.cpp ] && continue  # needs CUDA's headers: below
  [ -f "$f" ] && sources+=("$root/$f")
done

check_one() {  # check_one SOURCE: compiles it, checks its dependencies
  local src=$1 name
  case $src in
    "$work"/*) name=$(basename "$src" .cpp) ;;      # header_randquant_nn.h
    *) name=$(echo "${src#"$root"/}" | tr / _) ;;  # tests_test_quantize.cpp
  esac
  local log=$work/log/$name.log dep=$work/log/$name.d
  if ! "$cxx" -std="$CXX_STD" -fsyntax-only -Wall -Wextra -MD -MF "$dep" \
      -I"$root/include" -isystem "$inc" -isystem "$inc/torch/csrc/api/include" \
      -I/usr/include/stb "$src" >"$log" 2>&1; then
    echo "FAIL $src"
    return 1
  fi
  local mixed
  mixed=$(tr ' \\' '\n\n' <"$dep" | grep -E "^/usr/include/($owned)/" | head -n 3 || true)
  if [ -n "$mixed" ]; then
    echo "MIXED $src: includes LibTorch 1.13 headers, e.g. $(echo "$mixed" | head -n 1)" |
      tee -a "$log"
    return 1
  fi
  echo "ok   $src"
}
export -f check_one
export cxx root inc work owned

echo "== check-libtorch2: $cxx -fsyntax-only of ${#sources[@]} translation units (-j $jobs)"
compile_start=$SECONDS
status=0
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c 'check_one "$1"' _ {} || status=$?
if [ "$status" -ne 0 ]; then
  for log in "$work"/log/*.log; do
    [ -s "$log" ] || continue
    grep -qE 'error|MIXED' "$log" || continue
    echo "---- ${log##*/}"
    grep -E 'error|MIXED' -A3 "$log" | head -n 40
  done
  echo "check-libtorch2: FAILED against libtorch-dev $version" >&2
  exit 1
fi
# Warnings in randquant's own files (deprecations in 2.x, ...): listed, not
# fatal. LibTorch's headers are -isystem, so their own warnings stay quiet.
warnings=$(cat "$work"/log/*.log | grep -E "^$root/(include|tests|examples|benchmarks)/[^:]+:[0-9]+:[0-9]+: warning" | sort -u || true)
if [ -n "$warnings" ]; then
  echo "check-libtorch2: warnings in randquant's files against $version:"
  echo "$warnings"
fi
echo "check-libtorch2: ${#sources[@]} translation units compile against libtorch-dev $version" \
  "(compile $((SECONDS - compile_start)) s, total $((SECONDS - start)) s)"

# 3. The CUDA code against the same headers: nvcc for sm_90 (one
#    architecture is enough to check the headers) and the CUDA-graph test.
echo "== check-libtorch2: CUDA sources against libtorch-dev $version"
TORCH_INCLUDE=$inc CUDA_ARCHS=${RANDQUANT_LIBTORCH2_CUDA_ARCHS:-90} \
  "$root/scripts/check-cuda-compile.sh"
echo "check-libtorch2: done against libtorch-dev $version (total $((SECONDS - start)) s)"
