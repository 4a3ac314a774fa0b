#!/usr/bin/env bash
# Builds and tests randquant against LibTorch / PyTorch 2.x for real: in a
# Debian trixie root (LibTorch and PyTorch 2.6 from Debian's packages), the
# project is configured with its tests, examples, benchmarks and Python
# binding, built, and the whole ctest suite (C++ tests, packaging tests,
# README snippets, examples, pytest) runs there.
#
# Usage: scripts/test-libtorch2.sh [ctest args...]
#   --prepare   only make (or check) the trixie root, build nothing
# ctest's log is copied to build/ctest-libtorch2.log.
#
# The root lives outside the checkout (default /var/cache/randquant/trixie,
# or $RANDQUANT_TRIXIE_ROOT), so a fresh clone on the same machine reuses
# it; when it is missing it is made with debootstrap (about 50 s) and the
# packages are installed (about 80 s, 2.1 GB), from the Debian mirror apt
# already uses. Needs root (debootstrap, chroot, mount).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
start=$SECONDS

root=${RANDQUANT_TRIXIE_ROOT:-/var/cache/randquant/trixie}
# What the root needs: the build packages of scripts/test, plus what
# torch.compile's C++ backend needs (setuptools, Python headers).
packages=(cmake ninja-build g++ ccache libtorch-dev libgtest-dev libbenchmark-dev libstb-dev
  python3-torch python3-pytest python3-numpy python3-setuptools python3-dev python3-venv python3-wheel
  dataset-fashion-mnist libgloo-dev python3-sklearn)
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
    echo "== test-libtorch2: debootstrap trixie into $root"
    rm -rf "$root"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase trixie "$root" "$(mirror)" >/dev/null
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  echo "== test-libtorch2: installing ${packages[*]}"
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  in_root apt-get clean
  touch "$marker"
fi
version=$(in_root dpkg-query -W -f='${Version}' libtorch-dev)
echo "test-libtorch2: root $root, libtorch-dev $version ($((SECONDS - start)) s)"
[ "${1:-}" = --prepare ] && exit 0

# The checkout as git sees it (tracked and untracked, not ignored files),
# copied into the root.
src=$root/src/randquant
rm -rf "$src"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src"

# torch reads /proc (cpuinfo); unmount however the script ends.
mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT

build=/src/randquant/build
in_root bash -c "
  set -euo pipefail
  cd /src/randquant
  export CCACHE_DIR=/var/cache/ccache
  cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DRANDQUANT_BUILD_TESTS=ON \
    -DRANDQUANT_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build $build -j $(nproc) 2>&1 | tee $build.log | grep -E 'warning|error' || true
  ctest --test-dir $build --output-on-failure -j $(nproc) $* | tee $build/ctest.log
"
mkdir -p build
cp "$root$build/ctest.log" build/ctest-libtorch2.log
# A warning in randquant's own code fails the run, as an error would.
warnings=$(grep -E "^/src/randquant/(include|tests|examples|benchmarks|python|src)/[^:]+:[0-9]+:[0-9]+: warning" \
  "$root$build.log" | sort -u || true)
if [ -n "$warnings" ]; then
  echo "test-libtorch2: g++ warnings in randquant's code:" >&2
  echo "$warnings" >&2
  exit 1
fi
echo "test-libtorch2: passed against libtorch-dev $version ($((SECONDS - start)) s)"
