#!/usr/bin/env bash
# Fuzzes randquant::randomized_quantize with libFuzzer.
#
#   scripts/run-fuzz.sh [SECONDS] [libFuzzer flags...]
#
# Builds tests/fuzz/fuzz_randomized_quantize.cpp with clang++-14
# (-fsanitize=fuzzer,address,undefined) into $RANDQUANT_FUZZ_BUILD_DIR
# (default build-fuzz), then fuzzes for SECONDS (default 60) starting from
# the committed seed corpus tests/fuzz/corpus. New inputs go to
# BUILD_DIR/corpus (kept between runs, so a later run continues where the
# last one stopped); a crashing input is written to BUILD_DIR/crash-* and the
# script fails. Replay one input: BUILD_DIR/fuzz_randomized_quantize FILE
# (RANDQUANT_FUZZ_VERBOSE=1 prints the case each input encodes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
ensure_packages "${RANDQUANT_BUILD_PACKAGES[@]}" clang-14 libclang-rt-14-dev

seconds=${1:-60}
[ $# -gt 0 ] && shift
dir=${RANDQUANT_FUZZ_BUILD_DIR:-build-fuzz}
cxx=$(command -v clang++-14 || command -v clang++) ||
  { echo "run-fuzz: libFuzzer needs clang++ (clang-14)" >&2; exit 1; }
mkdir -p "$dir/corpus"
bin=$dir/fuzz_randomized_quantize

echo "== run-fuzz: build $bin ($("$cxx" --version | head -n 1))"
start=$SECONDS
launcher=()
command -v ccache >/dev/null && launcher=(ccache)
"${launcher[@]}" "$cxx" -std=c++17 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -D_GLIBCXX_USE_CXX11_ABI=1 -Iinclude -I/usr/include/torch/csrc/api/include \
  -c tests/fuzz/fuzz_randomized_quantize.cpp -o "$bin.o"
"$cxx" -fsanitize=fuzzer,address,undefined "$bin.o" -o "$bin" \
  -ltorch -ltorch_cpu -lc10
echo "run-fuzz: built in $((SECONDS - start)) s"

# Two intra-op threads: inputs with a long dimension (> GRAIN_SIZE elements)
# then run the kernel's chunks on two OpenMP threads, as in real use.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== run-fuzz: $seconds s"
log=$dir/fuzz.log
status=0
"$bin" "$dir/corpus" tests/fuzz/corpus -max_total_time="$seconds" \
  -max_len=4096 -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$dir/" "$@" >"$log" 2>&1 || status=$?
grep -E '^(#[0-9]+ +(INITED|DONE)|Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log" || true
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  echo "run-fuzz: FAILED (status $status); reproducer:" \
    "$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$bin" | tr '\n' ' ')" >&2
  exit 1
fi
echo "run-fuzz: no findings in $seconds s (corpus $(find "$dir/corpus" -type f | wc -l) inputs; log $log)"
