import os

# One thread per library: on 2 cores, torch's OpenMP threads and OpenBLAS's spinning threads
# in the same process starve each other and make the tests many times slower. Set before
# numpy or torch is imported by any test module.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Keep the tests hermetic: reference results are cached in a folder of this run only, which the
# pytest-xdist workers of a run share (they inherit the controller's; the cache is keyed by
# content and written atomically).
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

if not (os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("LSTM_CONFORMANCE_TEST_RUN_CACHE")):
    os.environ["LSTM_CONFORMANCE_TEST_RUN_CACHE"] = tempfile.mkdtemp(prefix="lstm-conformance-cache-")
    # removed when this process ends (under pytest-xdist: the controller, after its workers)
    atexit.register(shutil.rmtree, os.environ["LSTM_CONFORMANCE_TEST_RUN_CACHE"], ignore_errors=True)
os.environ["LSTM_CONFORMANCE_CACHE"] = os.environ["LSTM_CONFORMANCE_TEST_RUN_CACHE"]

import copy  # noqa: E402
from pathlib import Path  # noqa: E402

try:
    import fcntl  # noqa: E402
except ImportError:  # Windows: no shared library matrix (see LibraryRuns)
    fcntl = None

import pytest  # noqa: E402

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def library():
    """The built-in spec case library, loaded once (tests/fixtures/library.py)."""
    from fixtures.library import builtin_cases
    return builtin_cases()


class LibraryRuns:
    """The records of every check of the whole library on an implementation (run_suite, with
    diagnosis), computed at most once per implementation and test run: the library × adapter
    matrix of the correct implementations is the most expensive thing the tests run, and
    test_builtin_adapters, test_tolerances and test_training_parity judge the same records.

    Computed on first request and kept, pickled, in the run's cache folder, which the
    pytest-xdist workers of a run share: one file per implementation, written under a lock
    (fcntl.flock) by whichever worker asks first; another worker that asks waits for it and reads
    it, or meanwhile computes an implementation nobody has taken. So the matrix is computed once
    per run, serial or `-n N`, and each implementation's records are those of one run_suite.
    (Without fcntl, on Windows, each worker computes what it needs.) Each call returns a copy:
    no test sees another's changes."""

    def __init__(self, library, folder: Path):
        from lstm_conformance.checks import ReferenceCache
        self._library, self._cache, self._records = library, ReferenceCache(), {}
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, *impls: str) -> list[dict]:
        """The records of these implementations (names or file.py:Class), in that order."""
        pending = [impl for impl in dict.fromkeys(impls) if impl not in self._records]
        while pending:
            # first an implementation no other worker is computing; if all are taken, wait for one
            impl = next((i for i in pending if self._load_or_compute(i, wait=False)), None)
            if impl is None:
                impl = pending[0]
                self._load_or_compute(impl, wait=True)
            pending.remove(impl)
        return copy.deepcopy([r for impl in impls for r in self._records[impl]])

    def _load_or_compute(self, impl: str, wait: bool) -> bool:
        """Fill self._records[impl] from the shared file, computing and writing it first if no
        worker has; False (nothing done) when another worker holds its lock and not `wait`."""
        import hashlib
        import pickle
        stem = self._folder / hashlib.sha256(impl.encode()).hexdigest()[:16]
        with open(stem.with_suffix(".lock"), "a") as lock:
            if fcntl is not None:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    return False
            done = stem.with_suffix(".pickle")
            if done.exists():
                self._records[impl] = pickle.loads(done.read_bytes())
            else:
                from lstm_conformance.harness.registry import load_adapter
                from lstm_conformance.harness.runner import run_suite
                self._records[impl] = run_suite(self._library, [load_adapter(impl)], cache=self._cache)
                partial = stem.with_suffix(f".{os.getpid()}.tmp")
                partial.write_bytes(pickle.dumps(self._records[impl]))
                os.replace(partial, done)  # a reader never sees half a file
        return True  # the lock is released when the file closes


@pytest.fixture(scope="session")
def library_runs(library) -> LibraryRuns:
    """`library_runs("numpy")`: every check of the library on numpy (see LibraryRuns)."""
    return LibraryRuns(library, Path(os.environ["LSTM_CONFORMANCE_TEST_RUN_CACHE"]) / "library-runs")
