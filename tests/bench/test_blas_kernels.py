"""The OpenBLAS kernel report: the name is read from the loaded library, and a kernel set
without AVX-512 on an AVX-512 CPU is flagged in the speed tables. (These tests change no
OpenBLAS setting: on some machines OPENBLAS_CORETYPE is set so that old builds do not crash.)"""
import os

import pytest

from lstm_conformance.bench import blas
from lstm_conformance.harness import environment
from lstm_conformance.report import tables

ZEN5_FLAGS = {"avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"}
# kernel sets of OpenBLAS's x86-64 DYNAMIC_ARCH builds (names as openblas_get_corename gives them)
KNOWN_CORES = {"Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn", "Dunnington",
               "Nehalem", "Opteron", "Opteron_SSE3", "Barcelona", "Bobcat", "Bulldozer", "Piledriver",
               "Steamroller", "Excavator", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake",
               "SapphireRapids"}


def test_kernels_forced_below_the_cpu_are_flagged_with_the_setting_to_unset():
    warning = blas.kernel_mismatch("Haswell", ZEN5_FLAGS, coretype="Haswell")
    assert "runs its Haswell kernels, which OPENBLAS_CORETYPE=Haswell selects" in warning
    assert "unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the benchmark command alone" in warning


def test_detected_kernels_below_the_cpu_are_flagged_with_the_fix():
    warning = blas.kernel_mismatch("Haswell", ZEN5_FLAGS)
    assert "detected this CPU as Haswell" in warning and "OPENBLAS_CORETYPE=SkylakeX" in warning


@pytest.mark.parametrize("core, flags", [
    ("SkylakeX", ZEN5_FLAGS),  # AVX-512 kernels: fine
    ("Cooperlake", ZEN5_FLAGS),
    ("Haswell", {"avx", "avx2", "fma"}),  # a CPU without AVX-512: Haswell is its best
    ("Haswell", {"avx2", "avx512f"}),  # AVX-512F alone is not what the SkylakeX kernels need
    (None, ZEN5_FLAGS),  # not an OpenBLAS
])
def test_fitting_kernels_are_not_flagged(core, flags):
    assert blas.kernel_mismatch(core, flags, coretype="Haswell") is None


@pytest.mark.skipif(blas.openblas_core() is None, reason="NumPy's BLAS here is not an OpenBLAS that names its kernels")
def test_core_name_is_read_from_the_loaded_library():
    core = blas.openblas_core()
    assert core in KNOWN_CORES
    forced = os.environ.get("OPENBLAS_CORETYPE", "")
    if forced.lower() in {name.lower() for name in KNOWN_CORES} and forced.lower() != "zen":  # Zen loads Haswell
        assert core.lower() == forced.lower()


def test_speed_table_shows_the_kernels_and_the_warning():
    env = {"cpu": "AMD EPYC", "blas": "scipy-openblas 0.3.31", "blas_core": "Haswell",
           "blas_warning": blas.kernel_mismatch("Haswell", ZEN5_FLAGS, "Haswell")}
    text = tables.speed_markdown([], env)
    assert "blas_core Haswell" in text
    assert "**Warning:** NumPy's OpenBLAS runs its Haswell kernels" in text
    assert "Warning" not in tables.speed_markdown([], {**env, "blas_warning": None})


def test_environment_block_reports_the_kernels_in_use():
    env = environment.collect()
    assert env["blas_core"] == blas.openblas_core()
    assert env.get("blas_warning") == blas.current_mismatch()
