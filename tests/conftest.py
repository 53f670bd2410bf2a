import os

# One thread per library: on 2 cores, torch's OpenMP threads and OpenBLAS's spinning threads
# in the same process starve each other and make the tests many times slower. Set before
# numpy or torch is imported by any test module.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Keep the tests hermetic: reference results are cached in a folder of this run only, which the
# pytest-xdist workers of a run share (they inherit the controller's; the cache is keyed by
# content and written atomically).
import tempfile  # noqa: E402

if not (os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("LSTM_CONFORMANCE_TEST_RUN_CACHE")):
    os.environ["LSTM_CONFORMANCE_TEST_RUN_CACHE"] = tempfile.mkdtemp(prefix="lstm-conformance-cache-")
os.environ["LSTM_CONFORMANCE_CACHE"] = os.environ["LSTM_CONFORMANCE_TEST_RUN_CACHE"]

import copy  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def library():
    """The built-in spec case library, loaded once."""
    from lstm_conformance.spec.loader import load_cases
    return load_cases()


class LibraryRuns:
    """The records of every check of the whole library on an implementation (run_suite, with
    diagnosis), computed at most once per implementation and session: the library × adapter
    matrix of the correct implementations is the most expensive thing the tests run, and
    test_builtin_adapters and test_tolerances judge the same records. Computed on first request,
    so that under pytest-xdist (session fixtures are per worker) a worker computes only the
    implementations its own tests ask for. Each call returns a deep copy: no test sees
    another's changes."""

    def __init__(self, library):
        from lstm_conformance.checks import ReferenceCache
        self._library, self._cache, self._records = library, ReferenceCache(), {}

    def __call__(self, *impls: str) -> list[dict]:
        """The records of these implementations (names or file.py:Class), in that order."""
        from lstm_conformance.harness.registry import load_adapter
        from lstm_conformance.harness.runner import run_suite
        records = []
        for impl in impls:
            if impl not in self._records:
                self._records[impl] = run_suite(self._library, [load_adapter(impl)], cache=self._cache)
            records += self._records[impl]
        return copy.deepcopy(records)


@pytest.fixture(scope="session")
def library_runs(library) -> LibraryRuns:
    """`library_runs("numpy")`: every check of the library on numpy (see LibraryRuns)."""
    return LibraryRuns(library)
