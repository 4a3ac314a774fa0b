#!/usr/bin/env bash
# Sanitizer runs of randquant.
#
#   scripts/check-sanitizers.sh [ASAN_BUILD_DIR]
#
# 1. AddressSanitizer + UndefinedBehaviorSanitizer: configures ASAN_BUILD_DIR
#    (default build-asan, or $RANDQUANT_ASAN_BUILD_DIR) with
#    -fsanitize=address,undefined, builds randquant_tests and runs it.
# 2. ThreadSanitizer: builds tests/tsan/concurrent_use.cpp (one TU, compiled
#    directly) into $RANDQUANT_TSAN_BUILD_DIR (default build-tsan) with
#    -fsanitize=thread and runs it: several threads share a generator, a
#    module and an input.
#
# Compiler: clang++-14 (clang++ next); g++ only when no clang is installed
# (the script says which it used). Environment: RANDQUANT_SANITIZERS
# ("asan tsan" by default; "asan" or "tsan" runs one), RANDQUANT_SANITIZER_JOBS
# (build parallelism, default 2). Exits non-zero on any sanitizer finding or
# test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
ensure_packages "${RANDQUANT_BUILD_PACKAGES[@]}"
# clang and its sanitizer runtimes; without them we fall back to g++.
ensure_packages clang-14 libclang-rt-14-dev ||
  echo "check-sanitizers: could not install clang-14; trying other compilers"

asan_dir=${1:-${RANDQUANT_ASAN_BUILD_DIR:-build-asan}}
tsan_dir=${RANDQUANT_TSAN_BUILD_DIR:-build-tsan}
jobs=${RANDQUANT_SANITIZER_JOBS:-2}
sanitizers=${RANDQUANT_SANITIZERS:-asan tsan}

cxx=""
for candidate in clang++-14 clang++ g++; do
  if command -v "$candidate" >/dev/null; then
    cxx=$(command -v "$candidate")
    break
  fi
done
[ -n "$cxx" ] || { echo "check-sanitizers: no C++ compiler found" >&2; exit 1; }
echo "check-sanitizers: compiler $cxx ($("$cxx" --version | head -n 1))"

# Fails if a log holds a sanitizer report, even one a runtime did not turn
# into an exit status.
no_reports() {
  if grep -nE 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior|Thread)Sanitizer' "$1"; then
    echo "check-sanitizers: sanitizer findings in $1" >&2
    return 1
  fi
}

# The sanitizer runtimes are not in LibTorch, GoogleTest or libgomp: only
# randquant's code, the tests and the LibTorch header code they inline are
# instrumented. Malloc/free/new/delete are intercepted process-wide.
#
# ASAN_OPTIONS: leak detection and the stricter checks on.
# LSAN_OPTIONS: one suppression, for a leak inside LibTorch 1.13 itself:
#   at::Generator::clone() (c10::GeneratorImpl::clone() in libc10.so) takes
#   the object from CPUGeneratorImpl::clone_impl() (`new`, weak count 0)
#   and raises only its strong count, so when the last handle goes the weak
#   count underflows and the clone is never deleted: one CPUGeneratorImpl
#   (2632 bytes) per clone(). A 5-line program that only calls clone()
#   leaks the same way. The tests clone generators to replay calls
#   (quantization_params(x, o, g.clone())); the suppression matches only
#   that allocation site in LibTorch, so any leak of randquant's own still
#   fails the run.
# UBSAN_OPTIONS: stack for every report, stop at the first one.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
lsan_suppressions() {  # writes the LeakSanitizer suppressions into dir $1
  local file
  file="$(cd "$1" && pwd)/lsan-suppressions.txt"
  printf '%s\n' 'leak:at::CPUGeneratorImpl::clone_impl' >"$file"
  export LSAN_OPTIONS="suppressions=$file:print_suppressions=1"
}

run_asan() {
  local flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g"
  echo "== ASan+UBSan: configure $asan_dir"
  local start=$SECONDS
  cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" \
    -DRANDQUANT_BUILD_BENCHMARKS=OFF -DRANDQUANT_BUILD_EXAMPLES=OFF \
    -DRANDQUANT_BUILD_PYTHON=OFF >/dev/null
  lsan_suppressions "$asan_dir"
  echo "== ASan+UBSan: build randquant_tests (-j $jobs)"
  # The build runs the tests binary (gtest_discover_tests), under the
  # options above.
  cmake --build "$asan_dir" --target randquant_tests -j "$jobs"
  local built=$SECONDS
  echo "== ASan+UBSan: run randquant_tests"
  local log=$asan_dir/sanitizers-asan.log
  local status=0
  "$asan_dir/tests/randquant_tests" 2>&1 | tee "$log" || status=$?
  no_reports "$log"
  [ "$status" -eq 0 ] || { echo "check-sanitizers: randquant_tests failed ($status)" >&2; return 1; }
  echo "ASan+UBSan: clean (build $((built - start)) s, run $((SECONDS - built)) s)"
}

run_tsan() {
  mkdir -p "$tsan_dir"
  local bin=$tsan_dir/concurrent_use
  local launcher=()
  command -v ccache >/dev/null && launcher=(ccache)
  echo "== TSan: build $bin"
  local start=$SECONDS
  "${launcher[@]}" "$cxx" -std=c++17 -fsanitize=thread -fno-omit-frame-pointer -O1 -g \
    -D_GLIBCXX_USE_CXX11_ABI=1 -Iinclude -I/usr/include/torch/csrc/api/include \
    -c tests/tsan/concurrent_use.cpp -o "$bin.o"
  "$cxx" -fsanitize=thread "$bin.o" -o "$bin" -ltorch -ltorch_cpu -lc10 -pthread
  local built=$SECONDS
  echo "== TSan: run $bin"
  local log=$tsan_dir/sanitizers-tsan.log
  # halt_on_error=0: print every report; the run still exits 66 if any.
  local status=0
  TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:suppressions=$PWD/tests/tsan/suppressions.txt" \
    "$bin" 2>&1 | tee "$log" || status=$?
  no_reports "$log"
  [ "$status" -eq 0 ] || { echo "check-sanitizers: concurrent_use failed ($status)" >&2; return 1; }
  echo "TSan: clean (build $((built - start)) s, run $((SECONDS - built)) s)"
}

for s in $sanitizers; do
  case $s in
    asan) run_asan ;;
    tsan) run_tsan ;;
    *) echo "check-sanitizers: unknown sanitizer '$s' (asan, tsan)" >&2; exit 2 ;;
  esac
done
echo "check-sanitizers: all clean"
