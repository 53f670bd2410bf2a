"""Which OpenBLAS kernels NumPy runs, and whether they fit the CPU.

NumPy's matrix products are OpenBLAS's, and OpenBLAS picks its kernels at load time from the
CPU it detects. When detection misses a CPU it falls back to older kernels: scipy-openblas
0.3.31 runs its Haswell (AVX2) kernels on AMD Zen 5 (family 26), which has AVX-512, because
that family is missing from its runtime detection (OpenMathLib/OpenBLAS#6029, fixed by #6033).
Every NumPy GEMM then runs at about half the CPU's rate, and a speed table that compares
NumPy with torch (MKL, oneDNN) measures the misdetection, not the implementations. The speed
tables record the kernel name and print a warning when the kernels lack the CPU's AVX-512.
"""
from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Optional

# OpenBLAS x86-64 core names whose kernels use AVX-512 (its DYNAMIC_ARCH list)
AVX512_CORES = {"SkylakeX", "Cooperlake", "SapphireRapids"}
# the AVX-512 subset the SkylakeX kernels need
SKYLAKEX_FLAGS = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}
_CORENAME_SYMBOLS = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_",
                     "openblas_get_corename")


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries loaded in this process (Linux; [] elsewhere)."""
    import numpy  # noqa: F401  (loads NumPy's OpenBLAS)
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and "/" in line}
    return sorted(paths)


def openblas_core() -> Optional[str]:
    """The kernel set OpenBLAS chose at load time ("Haswell", "SkylakeX", ...), or None when
    NumPy's BLAS is not an OpenBLAS this can query."""
    for path in _loaded_openblas():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in _CORENAME_SYMBOLS:
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                name = function()
                return name.decode() if name else None
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kernel_mismatch(core: Optional[str], flags: set[str]) -> Optional[str]:
    """A warning when OpenBLAS runs kernels without AVX-512 on a CPU that has it; else None."""
    if not core or core in AVX512_CORES or not SKYLAKEX_FLAGS <= flags:
        return None
    return (f"NumPy's OpenBLAS runs its {core} kernels on a CPU with AVX-512, so NumPy matrix products "
            f"run at about half this CPU's rate (its runtime detection misses the CPU; "
            f"OpenMathLib/OpenBLAS#6029). Set OPENBLAS_CORETYPE=SkylakeX before starting Python "
            f"to use its AVX-512 kernels.")
