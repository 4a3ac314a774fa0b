"""Makes `import randquant` work from a source checkout without PYTHONPATH
(the library itself is found through RANDQUANT_OPS_LIBRARY or build/)."""

import sys
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "python"
if str(_PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(_PACKAGE_ROOT))
