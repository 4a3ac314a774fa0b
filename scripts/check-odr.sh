#!/usr/bin/env bash
# One-definition check between host compilers: a user's .cu file that
# includes <randquant/randquant.h> must see the same inline definitions as
# their .cpp files, or the linker silently keeps one of two bodies.
#  1. Runs the preprocessor's directives only (#if, #include; macros stay
#     unexpanded, so LibTorch's own macro bodies do not count) on
#     tests/odr_second_tu.cpp (every public header) with g++ and, as CUDA
#     source, with nvcc, and compares every line that comes from
#     include/randquant/. The one allowed difference is the definition of
#     RANDQUANT_HOST_DEVICE (host/device attributes change where a function
#     may run, not its body). Any other (code under a macro that differs,
#     such as __CUDACC__) fails, with the first differing lines.
#  2. Compiles that file with nvcc and tests/consumer/main.cpp with g++,
#     links them with LibTorch and runs the program.
# Exit 77 (ctest: skipped) without nvcc. Environment: NVCC, CXX,
# TORCH_INCLUDE (/usr/include), TORCH_LIB (/usr/lib/x86_64-linux-gnu).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
nvcc_or_skip check-odr 77
cxx=${CXX:-g++}
torch_include=${TORCH_INCLUDE:-/usr/include}
torch_lib=${TORCH_LIB:-/usr/lib/x86_64-linux-gnu}
cuda_lib=$(dirname "$(dirname "$(readlink -f "$nvcc")")")/lib64
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
includes=(-Iinclude)
[ "$torch_include" = /usr/include ] || includes+=(-isystem "$torch_include")
includes+=(-isystem "$torch_include/torch/csrc/api/include")
flags=(-std=c++17 -O2 -D_GLIBCXX_USE_CXX11_ABI=1)

"$cxx" "${flags[@]}" "${includes[@]}" -E -fdirectives-only \
  tests/odr_second_tu.cpp -o "$out/gxx.ii"
# nvcc -E shows the device pass; the host pass is the preprocessor command
# of `nvcc -c` without __CUDA_ARCH__ (from --dryrun), run here directives-only.
host_pp=$("$nvcc" --dryrun "${flags[@]}" "${includes[@]}" -x cu -c \
  tests/odr_second_tu.cpp -o "$out/unused.o" 2>&1 |
  grep -E '^#\$ .* -E ' | grep -v -- '-D__CUDA_ARCH__=' | head -n 1 |
  sed -e 's/^#\$ //' -e 's/ -o "[^"]*"//')
[ -n "$host_pp" ] || { echo "check-odr: no host preprocessing step in nvcc --dryrun" >&2; exit 1; }
eval "$host_pp -fdirectives-only -o \"\$out/nvcc.ii\""
/usr/bin/python3 - "$out/gxx.ii" "$out/nvcc.ii" <<'PY'
import re, sys

def randquant_lines(path):
    """(file, text) of every non-blank line from include/randquant/."""
    lines, current = [], ""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("# "):
                m = re.match(r'# \d+ "([^"]*)"', line)
                if m:
                    current = m.group(1)
                continue
            if "include/randquant/" not in current:
                continue
            text = " ".join(line.split())
            if text and not text.startswith("#define RANDQUANT_HOST_DEVICE"):
                lines.append((current.split("include/randquant/")[1], text))
    return lines

gxx, nvcc = randquant_lines(sys.argv[1]), randquant_lines(sys.argv[2])
if not gxx:
    sys.exit("check-odr: found no randquant header lines to compare")
for i, (a, b) in enumerate(zip(gxx, nvcc)):
    if a != b:
        print("check-odr: g++ and nvcc see different randquant code:")
        print("  g++ : %s: %s" % a)
        print("  nvcc: %s: %s" % b)
        sys.exit(1)
if len(gxx) != len(nvcc):
    longer = gxx if len(gxx) > len(nvcc) else nvcc
    print("check-odr: one compiler sees more randquant code, from %s: %s"
          % longer[min(len(gxx), len(nvcc))])
    sys.exit(1)
print("check-odr: %d lines of randquant headers, the same for g++ and nvcc"
      % len(gxx))
PY

"$nvcc" "${flags[@]}" "${includes[@]}" -x cu -c tests/odr_second_tu.cpp -o "$out/second_nvcc.o"
"$cxx" "${flags[@]}" "${includes[@]}" -c tests/consumer/main.cpp -o "$out/main.o"
"$cxx" "$out/main.o" "$out/second_nvcc.o" -o "$out/consumer" \
  -L"$torch_lib" -ltorch -ltorch_cpu -lc10 -L"$cuda_lib" -lcudart \
  -Wl,-rpath,"$torch_lib" -Wl,-rpath,"$cuda_lib"
"$out/consumer"
echo "check-odr: an nvcc translation unit linked with a g++ one runs"
