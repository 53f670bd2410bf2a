"""`--threads N`: one thread count for torch, OpenBLAS, MKL and OpenMP alike.

On a shared runner, a library that starts a thread per core stalls when a neighbour holds one of
them: torch nn.LSTM with its default 2 threads ran about 100× slower under load at B = 1 than
with one. The count is set in this process (torch, and NumPy's OpenBLAS, already loaded) and in
the environment, so that worker processes (--isolate) start with it; the results record it.
"""
from __future__ import annotations

import contextlib
import os

from .blas import openblas_threads, set_openblas_threads

DEFAULT_THREADS = 1
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def set_threads(threads: int = DEFAULT_THREADS) -> dict:
    """Use `threads` threads everywhere; returns what was set, for the results' run conditions."""
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"--threads {threads!r}: expected a whole number of at least 1")
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)  # child processes, and libraries not loaded yet
    import torch

    torch.set_num_threads(threads)

    numpy_blas = set_openblas_threads(threads)  # NumPy's OpenBLAS read the variable when it loaded
    settings = {"threads": threads, "torch_threads": torch.get_num_threads()}
    settings.update({variable: str(threads) for variable in THREAD_VARIABLES})
    if numpy_blas is not None:
        settings["numpy_blas_threads"] = numpy_blas
    return settings


@contextlib.contextmanager
def using_threads(threads: int | None = DEFAULT_THREADS):
    """set_threads(threads) for the block, then the previous settings again (a library caller's
    process keeps its own); yields what was set ({} for threads=None: nothing changed)."""
    if threads is None:
        yield {}
        return
    import torch


    before = torch.get_num_threads(), {v: os.environ.get(v) for v in THREAD_VARIABLES}, openblas_threads()
    try:
        yield set_threads(threads)
    finally:
        torch.set_num_threads(before[0])
        for variable, value in before[1].items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
        if before[2] is not None:
            set_openblas_threads(before[2])
