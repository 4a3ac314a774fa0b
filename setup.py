"""pip install for the Python package: builds the operator library from the
same sources as CMake (python/csrc/ops.cpp and the headers in include/) with
torch.utils.cpp_extension, against the torch that runs pip.

    python3 -m venv --system-site-packages .venv
    .venv/bin/pip install --no-build-isolation .

--no-build-isolation builds against the installed torch (Debian's
python3-torch) instead of downloading one; nothing else is downloaded.
"""

import re
from pathlib import Path

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

ROOT = Path(__file__).resolve().parent


def version():
    """MAJOR.MINOR.PATCH from include/randquant/version.h."""
    text = (ROOT / "include" / "randquant" / "version.h").read_text()
    parts = [re.search(rf"RANDQUANT_VERSION_{p} (\d+)", text).group(1)
             for p in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


# setuptools' build and egg-info folders, out of the CMake build directory
# (build/); egg_info requires its folder to exist.
(ROOT / ".pip-build").mkdir(exist_ok=True)

setup(
    name="randquant",
    version=version(),
    description="Randomized Quantization (Wu et al., ICCV 2023) for PyTorch",
    license="MIT",
    packages=["randquant"],
    package_dir={"randquant": "python/randquant"},
    # The operator library, loaded by the package with
    # torch.ops.load_library(); -fopenmp for at::parallel_for's threads
    # (see the README).
    ext_modules=[
        CppExtension(
            "randquant._randquant_ops",
            ["python/csrc/ops.cpp"],
            include_dirs=[str(ROOT / "include")],
            extra_compile_args=["-O3", "-fopenmp"],
            extra_link_args=["-fopenmp"],
        )
    ],
    cmdclass={"build_ext": BuildExtension},
    options={"build": {"build_base": ".pip-build"},
             "egg_info": {"egg_base": ".pip-build"}},
    zip_safe=False,
)
