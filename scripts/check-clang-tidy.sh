#!/usr/bin/env bash
# clang-tidy on every public header (through tests/odr_second_tu.cpp, which
# includes them all) with the check set in .clang-tidy; any finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
ensure_packages clang-tidy libtorch-dev
clang-tidy --quiet tests/odr_second_tu.cpp -- -std=c++17 -Iinclude \
  -I/usr/include/torch/csrc/api/include
echo "clang-tidy: clean"
