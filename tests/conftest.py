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

import gc  # noqa: E402
import importlib  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

pytest_plugins = ["pytester"]


def _import_without_assertion_rewriting(name: str) -> None:
    """Import `name` past pytest's assertion rewriting. pytest rewrites every module of a package
    that ships a pytest plugin, and Hypothesis does: without cached bytecode (a fresh clone with
    PYTHONDONTWRITEBYTECODE, as in CI) that cost each test process about 0.45 s of CPU (0.55 s
    against 0.12 s), the controller included, which imports it at the end for its summary. The
    asserts rewritten were Hypothesis's own, never a test's."""
    try:
        from _pytest.assertion.rewrite import AssertionRewritingHook
    except ImportError:  # another pytest: import it as pytest would
        importlib.import_module(name)
        return
    hooks = [finder for finder in sys.meta_path if isinstance(finder, AssertionRewritingHook)]
    for hook in hooks:
        sys.meta_path.remove(hook)
    try:
        importlib.import_module(name)
    finally:
        sys.meta_path[:0] = hooks


_import_without_assertion_rewriting("hypothesis")


# Fewer, larger young collections: the tests allocate millions of short-lived containers (records,
# comparisons, arrays' wrappers), and with the default threshold of 700 a worker ran 4,000 young
# and 28 full collections (1.45 s of CPU); with these, about 200 and 5 (0.5 s). Measured peak
# memory per worker: 676-719 MiB, against 658-710 MiB with the defaults.
gc.set_threshold(10_000, 10, 100)


@pytest.fixture(scope="module", autouse=True)
def _gc_frozen():
    """What is alive when a test module starts (torch, NumPy, matplotlib, the suite, the session's
    fixtures: a few hundred thousand objects) is moved out of the garbage collector's sight
    (gc.freeze) until the module ends (gc.unfreeze): each full collection then looks at the
    module's new objects only. The same results; seconds of CPU less per run."""
    gc.freeze()
    yield
    gc.unfreeze()  # back to the oldest generation, collected as usual


def pytest_configure(config):
    """With -n and no --dist of the caller's, pytest-xdist's `worksteal`: a worker that runs out of
    tests takes some of the other's, where `load` leaves it idle while the other finishes the
    tests it was handed (5.5 s of one idle core at the end of a 63 s run on 2 cores; 60 s now)."""
    given = any(arg == "--dist" or arg.startswith("--dist=") for arg in config.invocation_params.args)
    if getattr(config.option, "dist", None) == "load" and not given:
        config.option.dist = "worksteal"


def pytest_unconfigure(config):
    """The test process is about to exit: freeze what is alive (torch, the collected tests, the
    session's results) so that the interpreter's last garbage collections at exit skip it. A
    pytest-xdist worker took about 1.9 s to exit after its last test, and the run waits for it."""
    gc.freeze()


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

    The library is cut into SLICES contiguous parts; each (implementation, part) is made once per
    run and shared by the pytest-xdist workers (fixtures/once_per_run.py). A worker that needs a
    part another worker is computing first computes the parts nobody has taken, then waits for
    the rest. So the matrix is computed once per run, serial or `-n N`, and two workers that need
    the same implementation share its work instead of one waiting for the other. An
    implementation's records are run_suite's over each part, the parts in library order. Each
    call returns a copy (unpickled from the part's bytes: half the time of copy.deepcopy, which
    took 0.3 s per implementation and call): no test sees another's changes."""

    SLICES = 4

    def __init__(self, library):
        from lstm_conformance.checks import ReferenceCache
        self._library, self._cache = library, ReferenceCache()
        self._pickled = {}  # (impl, part, check) -> the part's records of that check (None: all), pickled

    def __call__(self, *impls: str, check: str | None = None) -> list[dict]:
        """The records of these implementations (names or file.py:Class), in that order; of one
        check only when `check` is given."""
        records = {}
        pending = [(impl, k) for impl in dict.fromkeys(impls) for k in range(self.SLICES)]
        while pending:
            # first a part no other worker is computing; if all are taken, wait for one
            part = next((p for p in pending if self._made(p, wait=False)[0]), pending[0])
            records[part] = self._made(part, wait=True)[1]
            pending.remove(part)
        copies = []
        for impl in impls:
            for k in range(self.SLICES):
                if (impl, k, check) not in self._pickled:
                    chosen = [r for r in records[impl, k] if check is None or r["check"] == check]
                    self._pickled[impl, k, check] = pickle.dumps(chosen, protocol=pickle.HIGHEST_PROTOCOL)
                copies += pickle.loads(self._pickled[impl, k, check])
        return copies

    def _made(self, part: tuple, wait: bool) -> tuple:
        import hashlib
        from fixtures.once_per_run import made_once
        impl, k = part

        def compute(_scratch):
            from lstm_conformance.harness.registry import load_adapter
            from lstm_conformance.harness.runner import run_suite
            size = -(-len(self._library) // self.SLICES)
            return run_suite(self._library[k * size:(k + 1) * size], [load_adapter(impl)], cache=self._cache)

        return made_once(f"library-runs/{hashlib.sha256(impl.encode()).hexdigest()[:16]}-{k}", compute, wait)


@pytest.fixture(scope="session")
def library_runs(library) -> LibraryRuns:
    """`library_runs("numpy")`: every check of the library on numpy (see LibraryRuns)."""
    return LibraryRuns(library)
