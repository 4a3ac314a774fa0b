# Shared by scripts/test and scripts/demo: install missing Debian packages,
# configure the build directory.

# Packages every build needs.
RANDQUANT_BUILD_PACKAGES=(cmake ninja-build g++ libtorch-dev libgtest-dev libbenchmark-dev libstb-dev)
# What scripts/test needs besides: the examples' data and tools, the Python
# tests and pip route, the plots, ccache.
RANDQUANT_TEST_PACKAGES=("${RANDQUANT_BUILD_PACKAGES[@]}" ccache dataset-fashion-mnist gnuplot-nox
  libgloo-dev python3-sklearn python3-torch python3-pytest python3-numpy python3-venv
  python3-setuptools python3-wheel python3-dev)

# ccache hashes paths relative to the checkout, so a clone elsewhere on the
# same machine reuses what an earlier build compiled (every script that
# sources this file runs from the repository root).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

# ensure_packages PKG...: installs the packages that are not installed yet.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing missing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet: update and retry once.
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }
}

# configure BUILD_DIR [cmake args...]: configures randquant with Ninja.
configure() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
}

# nvcc_or_skip NAME CODE: sets nvcc to $NVCC (default
# /usr/local/cuda/bin/nvcc), or says that NAME is skipped and exits with CODE.
nvcc_or_skip() {
  nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
  if [ ! -x "$nvcc" ]; then
    echo "$1: no nvcc at $nvcc; skipped"
    exit "$2"
  fi
}
