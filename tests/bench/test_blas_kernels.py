"""The OpenBLAS kernel report: the name is read from the library itself, and a kernel set
without AVX-512 on an AVX-512 CPU is flagged in the speed tables."""
import os
import platform
import subprocess
import sys

import pytest

from lstm_conformance import blas, environment, tables

ZEN5_FLAGS = {"avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"}


def test_avx2_kernels_on_an_avx512_cpu_are_flagged():
    warning = blas.kernel_mismatch("Haswell", ZEN5_FLAGS)
    assert warning and "Haswell" in warning and "OPENBLAS_CORETYPE=SkylakeX" in warning


@pytest.mark.parametrize("core, flags", [
    ("SkylakeX", ZEN5_FLAGS),  # AVX-512 kernels: fine
    ("Cooperlake", ZEN5_FLAGS),
    ("Haswell", {"avx", "avx2", "fma"}),  # a CPU without AVX-512: Haswell is its best
    ("Haswell", {"avx2", "avx512f"}),  # AVX-512F alone is not what the SkylakeX kernels need
    (None, ZEN5_FLAGS),  # not an OpenBLAS
])
def test_fitting_kernels_are_not_flagged(core, flags):
    assert blas.kernel_mismatch(core, flags) is None


def _core_in_subprocess(coretype: str) -> str:
    code = "from lstm_conformance import blas; print(blas.openblas_core())"
    env = {**os.environ, "OPENBLAS_CORETYPE": coretype}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True, timeout=120).stdout.strip()


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or blas.openblas_core() is None,
                    reason="needs NumPy with an OpenBLAS on x86-64 that reports its kernels")
def test_core_name_is_read_from_the_loaded_library():
    # Nehalem (SSE4.2) kernels run on every x86-64 CPU made since 2009, so forcing them is safe
    assert _core_in_subprocess("Nehalem") == "Nehalem"
    if "avx2" in blas.cpu_flags():
        assert _core_in_subprocess("Haswell") == "Haswell"


def test_speed_table_shows_the_kernels_and_the_warning():
    env = {"cpu": "AMD EPYC", "blas": "scipy-openblas 0.3.31", "blas_core": "Haswell",
           "blas_warning": blas.kernel_mismatch("Haswell", ZEN5_FLAGS)}
    text = tables.speed_markdown([], env)
    assert "blas_core Haswell" in text
    assert "**Warning:** NumPy's OpenBLAS runs its Haswell kernels" in text
    assert "Warning" not in tables.speed_markdown([], {**env, "blas_warning": None})


def test_environment_block_reports_the_kernels_in_use():
    env = environment.collect()
    assert env["blas_core"] == blas.openblas_core()
    assert ("blas_warning" in env) == (blas.kernel_mismatch(env["blas_core"], blas.cpu_flags()) is not None)
