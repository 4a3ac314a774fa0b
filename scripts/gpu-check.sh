#!/usr/bin/env bash
# The one prepared GPU check: builds randquant with its CUDA component on a
# GPU machine, runs the CUDA tests, the whole unit-test suite and the CUDA
# benchmark. Meant for a GPU machine with PyTorch 2.x + CUDA + nvcc + CMake +
# ninja (no network, no GoogleTest, no Google Benchmark needed); it runs in
# the repository root. Everything is teed into $OUT/gpu-check.log; a short
# $OUT/summary.txt gets the GPU, the test counts and the benchmark's ratio
# table; the benchmark's own output goes to $OUT/bench-cuda.txt.
# Exits non-zero when a step fails or a test fails (missed timing targets
# are reported, never a failure).
#
# How to call it (GoogleTest travels as a source copy in an ignored folder):
#   mkdir -p .cache && rm -rf .cache/googletest &&
#     cp -r /usr/src/googletest .cache/googletest
#   then, on the GPU machine, with .cache/googletest copied along:
#     bash scripts/gpu-check.sh
#
# Environment (all optional):
#   GTEST_ROOT     GoogleTest: an install prefix (has lib*/cmake/GTest) or a
#                  source tree; default .cache/googletest (a source tree)
#   TORCH_PREFIX   CMake prefix of LibTorch; default: python3's
#                  torch.utils.cmake_prefix_path
#   NVCC           the CUDA compiler; default: nvcc on PATH, then
#                  /usr/local/cuda*/bin/nvcc, then pip's nvidia packages
#   BUILD_DIR      build folder (default /tmp/randquant-gpu-build)
#   JOBS           parallel build jobs (default 16)
#   CUDA_ARCH      CMAKE_CUDA_ARCHITECTURES (default 90)
#   CUDA_RUNTIME   CMAKE_CUDA_RUNTIME_LIBRARY (default Shared, as LibTorch)
#   GPU_CHECK_DRY_RUN=1  no GPU: configure and build with
#                  RANDQUANT_WITH_CUDA=OFF, run the tests (the _CUDA ones
#                  skip), skip nvidia-smi and the benchmark; checks the
#                  script and the CMake logic on a CPU-only machine.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
repo=$PWD
OUT=${OUT:-$repo/.cache/gpu-check-out}
mkdir -p "$OUT"
log=$OUT/gpu-check.log
summary=$OUT/summary.txt
bench_out=$OUT/bench-cuda.txt
: >"$log"
: >"$summary"

dry=${GPU_CHECK_DRY_RUN:-0}
jobs=${JOBS:-16}
arch=${CUDA_ARCH:-90}
build=${BUILD_DIR:-/tmp/randquant-gpu-build}
gtest_build=/tmp/randquant-gtest-build
gtest_install=/tmp/randquant-gtest
start=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-470}  # whole script, seconds (< 8 minutes)

failures=()
gpu_name=unknown
cuda_counts="not run"
all_counts="not run"
cuda_path="unknown"
cxx_standard=""

note() { echo "[gpu-check $(($(date +%s) - start))s] $*"; }
# left SECONDS_WANTED: the smaller of what a step wants and what is left.
left() {
  local rest=$((budget - ($(date +%s) - start)))
  [ "$rest" -lt 10 ] && rest=10
  [ "$1" -lt "$rest" ] && echo "$1" || echo "$rest"
}
# counts LOGFILE: "P passed, F failed, S skipped" from GoogleTest's output.
counts() {
  local p f s
  p=$(grep -Eo '^\[  PASSED  \] [0-9]+ test' "$1" | tail -1 | grep -Eo '[0-9]+')
  f=$(grep -Eo '^\[  FAILED  \] [0-9]+ test' "$1" | tail -1 | grep -Eo '[0-9]+')
  s=$(grep -Eo '^\[  SKIPPED \] [0-9]+ test' "$1" | tail -1 | grep -Eo '[0-9]+')
  echo "${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
}
finish() {
  {
    echo "randquant GPU check ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(($(date +%s) - start)) s)"
    echo "GPU: $gpu_name"
    echo "torch: ${torch_info:-unknown}"
    echo "nvcc: ${nvcc_version:-unknown}"
    echo "C++ standard: ${cxx_standard:-unknown}"
    echo "CUDA path for CUDA tensors: $cuda_path"
    echo "tests --gtest_filter='*_CUDA*': $cuda_counts"
    echo "tests, whole suite: $all_counts"
    if [ ${#failures[@]} -eq 0 ]; then
      echo "result: OK"
    else
      echo "result: FAILED (${failures[*]})"
    fi
    if [ -s "$bench_out" ]; then
      echo
      echo "benchmark (randquant_bench_cuda):"
      sed -n '/^device:/p;/^check /p;/^Ratios/,$p' "$bench_out"
    fi
  } >>"$summary"
  echo
  echo "===== summary ($summary) ====="
  cat "$summary"
  [ ${#failures[@]} -eq 0 ]
}

main() {
  note "repo $repo, OUT $OUT, dry run: $dry"

  # ---- the GPU --------------------------------------------------------------
  if [ "$dry" = 1 ]; then
    gpu_name="(dry run, no GPU)"
  elif command -v nvidia-smi >/dev/null; then
    nvidia-smi || true
    gpu_name=$(nvidia-smi --query-gpu=name,memory.total,driver_version \
      --format=csv,noheader 2>/dev/null | head -1)
    [ -n "$gpu_name" ] || gpu_name=unknown
  else
    note "nvidia-smi not found"
  fi
  note "GPU: $gpu_name"

  # ---- tools: python3's torch, cmake, ninja, nvcc -----------------------------
  local py=${PYTHON:-python3}
  local py_bin
  py_bin=$(dirname "$($py -c 'import sys; print(sys.executable)' 2>/dev/null || echo /usr/bin/python3)")
  export PATH="$PATH:$py_bin"  # the venv's cmake / ninja, if only there
  local torch_prefix=${TORCH_PREFIX:-}
  if [ -z "$torch_prefix" ]; then
    torch_prefix=$($py -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  fi
  torch_info=$($py -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>/dev/null || echo "no python torch")
  note "torch: $torch_info; CMake prefix: ${torch_prefix:-NOT FOUND}"
  if [ -z "$torch_prefix" ]; then
    failures+=("torch-prefix")
    return 1
  fi
  command -v cmake >/dev/null || { note "cmake not found"; failures+=("cmake"); return 1; }
  cmake --version | head -1
  local generator=(-G Ninja)
  if command -v ninja >/dev/null; then
    echo "ninja $(ninja --version)"
  else
    note "ninja not found: Unix Makefiles"
    generator=(-G "Unix Makefiles")
  fi

  local cuda_args=()
  if [ "$dry" = 1 ]; then
    cuda_args=(-DRANDQUANT_WITH_CUDA=OFF)
  else
    local nvcc=${NVCC:-}
    if [ -z "$nvcc" ]; then
      nvcc=$(command -v nvcc || true)
      for c in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
        [ -z "$nvcc" ] && [ -x "$c" ] && nvcc=$c
      done
      if [ -z "$nvcc" ]; then
        local site
        site=$($py -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)
        [ -n "$site" ] && nvcc=$(find "$site/nvidia" -maxdepth 4 -type f -name nvcc 2>/dev/null | head -1)
      fi
    fi
    if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then
      note "nvcc not found"
      failures+=("nvcc")
      return 1
    fi
    nvcc=$(readlink -f "$nvcc")
    nvcc_version=$("$nvcc" --version | tail -2 | tr '\n' ' ')
    local cuda_root
    cuda_root=$(dirname "$(dirname "$nvcc")")
    note "nvcc: $nvcc ($nvcc_version); toolkit root $cuda_root"
    export CUDACXX=$nvcc
    export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
    # The shared CUDA runtime, as LibTorch's: with CMake's default (static)
    # the executables would carry a second runtime, whose launch errors
    # C10_CUDA_KERNEL_LAUNCH_CHECK (which asks torch's runtime) cannot see.
    cuda_args=(-DRANDQUANT_WITH_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch"
      "-DCMAKE_CUDA_COMPILER=$nvcc" "-DCUDAToolkit_ROOT=$cuda_root"
      "-DCMAKE_CUDA_RUNTIME_LIBRARY=${CUDA_RUNTIME:-Shared}")
    # CUDA >= 12.9 ships NVTX only as the header-only nvtx3. Torch's
    # Caffe2 cuda.cmake looks for nvtx3 in a path that does not exist in a
    # consumer project and then falls back to CUDA::nvToolsExt, which no
    # longer exists: pre-set its cache variable to the toolkit's headers.
    local nvtx_dir=""
    for d in "$cuda_root/include" "$cuda_root"/targets/*/include; do
      [ -z "$nvtx_dir" ] && [ -d "$d/nvtx3" ] && nvtx_dir=$d
    done
    if [ -n "$nvtx_dir" ]; then
      note "nvtx3 headers: $nvtx_dir/nvtx3"
      cuda_args+=("-Dnvtx3_dir=$nvtx_dir" -DUSE_SYSTEM_NVTX=ON)
    else
      note "no nvtx3 headers found under $cuda_root (configure may fail on CUDA::nvToolsExt)"
    fi
    # A pip-installed torch loads cuBLAS & co. from pip's nvidia packages
    # (its RPATH); let the linker resolve libtorch_cuda.so's needs there too.
    local site nv_libs
    site=$($py -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)
    if [ -n "$site" ] && [ -d "$site/nvidia" ]; then
      nv_libs=$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | paste -sd: -)
      if [ -n "$nv_libs" ]; then
        note "linker search (-rpath-link) adds pip's nvidia lib folders"
        cuda_args+=("-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$nv_libs")
      fi
    fi
  fi

  # ---- GoogleTest ----------------------------------------------------------
  local gtest_root=${GTEST_ROOT:-$repo/.cache/googletest}
  local gtest_prefix=""
  if compgen -G "$gtest_root/lib*/cmake/GTest" >/dev/null; then
    gtest_prefix=$gtest_root
    note "GoogleTest: installed at $gtest_prefix"
  elif [ -f "$gtest_root/CMakeLists.txt" ]; then
    note "GoogleTest: building from $gtest_root"
    rm -rf "$gtest_build"
    if timeout "$(left 120)" cmake -S "$gtest_root" -B "$gtest_build" "${generator[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
        -DCMAKE_INSTALL_PREFIX="$gtest_install" &&
      timeout "$(left 180)" cmake --build "$gtest_build" -j "$jobs" &&
      cmake --install "$gtest_build" >/dev/null; then
      gtest_prefix=$gtest_install
    else
      failures+=("gtest-build")
      return 1
    fi
  else
    note "GoogleTest not found at $gtest_root: copy /usr/src/googletest to .cache/googletest and carry it"
    failures+=("gtest-missing")
    return 1
  fi

  # ---- configure -----------------------------------------------------------
  note "configure $build"
  rm -rf "$build"
  local config_log=/tmp/randquant-gpu-configure.log
  timeout "$(left 180)" cmake -S "$repo" -B "$build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DRANDQUANT_BUILD_TESTS=ON \
    -DRANDQUANT_BUILD_BENCHMARKS=AUTO -DRANDQUANT_BUILD_PYTHON=OFF \
    -DRANDQUANT_BUILD_EXAMPLES=OFF -DRANDQUANT_INSTALL=ON \
    "-DCMAKE_PREFIX_PATH=$torch_prefix;$gtest_prefix" "${cuda_args[@]}" 2>&1 |
    tee "$config_log"
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    failures+=("configure")
    return 1
  fi
  # The standard randquant's CMake package picked for this torch (C++20
  # from LibTorch 2.12, C++17 before), for C++ and CUDA sources alike.
  cxx_standard=$(grep -Eo 'randquant: C\+\+[0-9]+ for LibTorch [^ ]*' "$config_log" |
    sed 's/^randquant: //' | head -1)
  note "standard: ${cxx_standard:-not reported}"
  local targets=(randquant_tests)
  if [ "$dry" != 1 ]; then
    if ! grep -q 'CUDA component randquant::cuda enabled' "$config_log"; then
      note "the CUDA component is off after configure"
      failures+=("cuda-component-off")
      return 1
    fi
    targets+=(randquant_bench_cuda)
  fi

  # ---- build ---------------------------------------------------------------
  note "build ${targets[*]} (-j $jobs)"
  if ! timeout "$(left 330)" cmake --build "$build" -j "$jobs" --target "${targets[@]}"; then
    failures+=("build")
    return 1
  fi
  local tests_bin=$build/tests/randquant_tests

  # ---- the CUDA tests, then the whole suite ---------------------------------
  note "run randquant_tests --gtest_filter='*_CUDA*'"
  local cuda_log=/tmp/randquant-cuda-tests.log all_log=/tmp/randquant-all-tests.log
  timeout "$(left 240)" "$tests_bin" --gtest_filter='*_CUDA*' 2>&1 | tee "$cuda_log"
  local rc=${PIPESTATUS[0]}
  cuda_counts="$(counts "$cuda_log") (exit $rc)"
  cuda_path=$(grep -Eo '\[randquant\] CUDA path: .*' "$cuda_log" | head -1 | sed 's/\[randquant\] CUDA path: //')
  [ -n "$cuda_path" ] || cuda_path="not reported (test skipped or not run)"
  [ "$rc" -eq 0 ] || failures+=("cuda-tests")

  # The large-slice test already ran above: the second run skips it.
  note "run randquant_tests (whole suite, brief output, large-slice test skipped)"
  RANDQUANT_SKIP_LARGE_TESTS=1 timeout "$(left 240)" "$tests_bin" --gtest_brief=1 2>&1 |
    tee "$all_log"
  rc=${PIPESTATUS[0]}
  all_counts="$(counts "$all_log") (exit $rc)"
  # --gtest_brief prints no PASSED line when all pass: count from the header.
  if [ "$rc" -eq 0 ] && ! grep -q '^\[  PASSED  \]' "$all_log"; then
    all_counts="$(grep -Eo '^\[==========\] [0-9]+ tests? from' "$all_log" | tail -1 | grep -Eo '[0-9]+' | head -1) ran, 0 failed (exit 0)"
  fi
  [ "$rc" -eq 0 ] || failures+=("all-tests")

  # ---- the benchmark ---------------------------------------------------------
  if [ "$dry" = 1 ]; then
    note "dry run: benchmark skipped"
  else
    note "run randquant_bench_cuda"
    timeout "$(left 150)" "$build/benchmarks/randquant_bench_cuda" 2>&1 | tee "$bench_out"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || failures+=("benchmark(exit $rc)")
  fi
  note "done"
}

{
  main
  finish
} 2>&1 | tee -a "$log"
exit "${PIPESTATUS[0]}"
