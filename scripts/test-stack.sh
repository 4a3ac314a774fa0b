#!/usr/bin/env bash
# Builds and tests randquant against another Debian release's LibTorch /
# PyTorch for real: in a root of that release (made with debootstrap), the
# project is configured with its tests, examples, benchmarks and Python
# binding, built, and the whole ctest suite (C++ tests, packaging tests,
# README snippets, examples, pytest, pip install) runs there.
#
# Usage: scripts/test-stack.sh STACK [ctest args...]
#   STACK    trixie (LibTorch / PyTorch 2.6, g++ 14, Python 3.13) or
#            sid (LibTorch / PyTorch 2.14, g++ 16 and g++ 14, Python 3.14)
#   --prepare  (as the first ctest arg) only make (or check) the root
# ctest's log is copied to build/ctest-STACK.log.
#
# The root lives outside the checkout (default /var/cache/randquant/STACK,
# or $RANDQUANT_ROOTS/STACK), so a fresh clone on the same machine reuses
# it; when it is missing it is made with debootstrap (30-50 s) and the
# packages are installed (2-3 min, about 2.5 GB), from the Debian mirror apt
# already uses. Needs root (debootstrap, chroot, mount).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
start=$SECONDS

stack=${1:?usage: scripts/test-stack.sh trixie|sid [ctest args...]}
shift
# What every root needs: the build packages of scripts/test, plus what
# torch.compile's C++ backend needs (setuptools, Python headers).
packages=(cmake ninja-build g++ ccache libtorch-dev libgtest-dev libbenchmark-dev libstb-dev
  python3-torch python3-pytest python3-numpy python3-setuptools python3-dev python3-venv python3-wheel
  dataset-fashion-mnist libgloo-dev python3-sklearn)
cmake_args=()
case $stack in
  trixie) ;;
  sid)
    # g++ 16 defaults to C++20; g++ 14 (C++17 by default, as most
    # distributions' compilers) builds the find_package consumer instead,
    # which must then get C++20 from randquant's package alone.
    packages+=(g++-14)
    cmake_args+=(-DRANDQUANT_CONSUMER_COMPILERS=g++-14)
    ;;
  *) echo "test-stack: unknown stack '$stack' (trixie or sid)" >&2; exit 2 ;;
esac

root=${RANDQUANT_ROOTS:-/var/cache/randquant}/$stack
# The marker names the package list: a root made for another list is
# completed, not reused as it is.
marker=$root/.randquant-root-$(printf '%s\n' "${packages[@]}" | md5sum | cut -c1-12)

mirror() {  # the Debian URI apt uses on this machine
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

in_root() {  # in_root COMMAND...: runs a command in the root
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

if [ ! -f "$marker" ]; then
  ensure_packages debootstrap
  if [ ! -x "$root/usr/bin/apt-get" ]; then
    echo "== test-stack $stack: debootstrap into $root"
    rm -rf "$root"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase "$stack" "$root" "$(mirror)" >/dev/null
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The mirror is a fixed snapshot: an unstable suite's Release file may be
  # past its Valid-Until date, which apt refuses by default.
  echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99randquant-valid-until"
  echo "== test-stack $stack: installing ${packages[*]}"
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  in_root apt-get clean
  touch "$marker"
fi
version=$(in_root dpkg-query -W -f='${Version}' libtorch-dev)
echo "test-stack $stack: root $root, libtorch-dev $version ($((SECONDS - start)) s)"
[ "${1:-}" = --prepare ] && exit 0

# The checkout as git sees it (tracked and untracked, not ignored files),
# copied into the root.
src=$root/src/randquant
rm -rf "$src"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src"

# torch reads /proc (cpuinfo); DataLoader workers share tensors through
# /dev/shm. Unmounted however the script ends.
mount -t proc proc "$root/proc"
mkdir -p "$root/dev/shm"
mount -t tmpfs -o size=4g tmpfs "$root/dev/shm"
trap 'umount "$root/dev/shm" 2>/dev/null || true; umount "$root/proc" 2>/dev/null || true' EXIT

build=/src/randquant/build
in_root bash -c "
  set -euo pipefail
  cd /src/randquant
  export CCACHE_DIR=/var/cache/ccache
  cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DRANDQUANT_BUILD_TESTS=ON \
    -DRANDQUANT_BUILD_BENCHMARKS=ON ${cmake_args[*]} >/dev/null
  cmake --build $build -j $(nproc) 2>&1 | tee $build.log | grep -E 'warning|error' || true
  ctest --test-dir $build --output-on-failure -j $(nproc) $* | tee $build/ctest.log
"
mkdir -p build
cp "$root$build/ctest.log" "build/ctest-$stack.log"
# A warning in randquant's own code fails the run, as an error would.
warnings=$(grep -E "^/src/randquant/(include|tests|examples|benchmarks|python|src)/[^:]+:[0-9]+:[0-9]+: warning" \
  "$root$build.log" | sort -u || true)
if [ -n "$warnings" ]; then
  echo "test-stack $stack: g++ warnings in randquant's code:" >&2
  echo "$warnings" >&2
  exit 1
fi
echo "test-stack $stack: passed against libtorch-dev $version ($((SECONDS - start)) s)"
