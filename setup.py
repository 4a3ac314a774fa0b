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

import torch
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

# randquant needs C++17. torch 1.x's BuildExtension adds -std=c++14 unless
# the extension names a standard itself; torch 2.x adds the one its own
# headers need (C++17, or C++20 from 2.12), which is left alone.
STANDARD = ["-std=c++17"] if int(torch.__version__.split(".")[0]) < 2 else []

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
            extra_compile_args=["-O3", "-fopenmp"] + STANDARD,
            extra_link_args=["-fopenmp"],
        )
    ],
    cmdclass={"build_ext": BuildExtension},
    options={"build": {"build_base": ".pip-build"},
             "egg_info": {"egg_base": ".pip-build"}},
    zip_safe=False,
)
