"""Which OpenBLAS kernels NumPy runs, and whether they use the CPU's vector width.

NumPy's matrix products are OpenBLAS's, and OpenBLAS picks its kernels when it loads: from
the CPU it detects, or from OPENBLAS_CORETYPE when that is set. Some machines set it to an
older kernel set on purpose, because older OpenBLAS builds crash or compute wrong results on
their CPUs; a detection that misses a new CPU has the same effect (OpenMathLib/OpenBLAS#6029).
On an AVX-512 CPU the Haswell (AVX2) kernels run NumPy's GEMMs at about half the rate the
SkylakeX kernels reach, and a speed table that compares NumPy with torch (MKL, oneDNN) then
measures that choice, not the implementations. The speed tables therefore record the kernel
set in use and print a warning when it lacks the CPU's AVX-512.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Optional

from .cpuinfo import cpuinfo_value

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


_SET_THREADS_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                        "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET_THREADS_SYMBOLS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                        "openblas_get_num_threads64_", "openblas_get_num_threads")


def _openblas_function(names):
    for path in _loaded_openblas():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        function = next((getattr(library, s) for s in names if hasattr(library, s)), None)
        if function is not None:
            return function
    return None


def openblas_threads() -> Optional[int]:
    """The thread count of NumPy's OpenBLAS in this process (None when it cannot be asked)."""
    getter = _openblas_function(_GET_THREADS_SYMBOLS)
    if getter is None:
        return None
    getter.restype = ctypes.c_int
    return int(getter())


def set_openblas_threads(threads: int) -> Optional[int]:
    """Set the thread count of NumPy's OpenBLAS in this process; returns the count it reports
    afterwards, or None when NumPy's BLAS is not an OpenBLAS this can reach."""
    setter = _openblas_function(_SET_THREADS_SYMBOLS)
    if setter is None:
        return None
    setter.argtypes = [ctypes.c_int]
    setter(int(threads))
    return openblas_threads() or int(threads)


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    return set((cpuinfo_value("flags") or "").split())


def kernel_mismatch(core: Optional[str], flags: set[str], coretype: Optional[str] = None) -> Optional[str]:
    """A warning when OpenBLAS runs kernels without AVX-512 on a CPU that has it, else None.
    `coretype` is the OPENBLAS_CORETYPE setting, if any."""
    if not core or core in AVX512_CORES or not SKYLAKEX_FLAGS <= flags:
        return None
    if coretype:
        return (f"NumPy's OpenBLAS runs its {core} kernels, which OPENBLAS_CORETYPE={coretype} selects, on a CPU "
                f"with AVX-512: NumPy's matrix products run at about half this CPU's rate, so NumPy's speed ratios "
                f"measure that setting. For timings, unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the benchmark "
                f"command alone, where this OpenBLAS runs correctly without them (docs/PERFORMANCE.md).")
    return (f"NumPy's OpenBLAS detected this CPU as {core} and runs kernels without its AVX-512: NumPy's matrix "
            f"products run at about half this CPU's rate (OpenMathLib/OpenBLAS#6029 is one such miss). "
            f"OPENBLAS_CORETYPE=SkylakeX, or a newer OpenBLAS, uses them.")


def current_mismatch(core: Optional[str] = None) -> Optional[str]:
    """kernel_mismatch for this process (`core`: openblas_core(), when the caller has it)."""
    core = openblas_core() if core is None else core
    return kernel_mismatch(core, cpu_flags(), os.environ.get("OPENBLAS_CORETYPE"))
