#!/usr/bin/env bash
# The pip route for Python users: in a fresh virtual environment that sees
# the system's torch, `pip install --no-build-isolation .` builds the
# operator library from this checkout (setup.py, torch.utils.cpp_extension),
# offline, and `import randquant` then works from any directory.
# Usage: scripts/check-pip-install.sh WORK_DIR [PYTHON]   (exit 77: skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$1
python=${2:-/usr/bin/python3}
venv=$work/pip-venv
rm -rf "$venv"
if ! "$python" -m venv --system-site-packages "$venv" >/dev/null 2>&1; then
  echo "check-pip-install: $python -m venv failed (Debian: python3-venv); skipped"
  exit 77
fi
# --no-index: nothing is downloaded; setuptools, wheel and torch come from
# the system's site-packages.
"$venv/bin/pip" install --no-build-isolation --no-index --quiet .
cd /
"$venv/bin/python" - <<'PY'
import torch
import randquant

assert "pip-venv" in randquant.library_path, randquant.library_path
x = torch.randn(4, 3, 16, 16)
g = torch.Generator().manual_seed(0)
q = randquant.randomized_quantize(x, 8, generator=g)
assert q.shape == x.shape
assert max(s.unique().numel() for s in q.flatten(0, 1)) <= 8
print(f"check-pip-install: torch {torch.__version__}, {randquant.library_path}")
PY
