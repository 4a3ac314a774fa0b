# Shared by scripts/test and scripts/demo: install missing Debian packages,
# configure the build directory.

# Packages every build needs.
RANDQUANT_BUILD_PACKAGES=(cmake ninja-build g++ libtorch-dev libgtest-dev libbenchmark-dev libstb-dev)

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
