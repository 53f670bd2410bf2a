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


def pytest_collection_finish(session):
    """Start the README's pip resolutions (tests/test_install.py: tens of seconds of network and
    pip) in a background thread as soon as the test is selected, so that they overlap the rest
    of the run. Under pytest-xdist the controller starts them (XdistController below)."""
    config = session.config
    if config.option.collectonly or hasattr(config, "workerinput"):
        return
    for item in session.items:
        if item.name == INSTALL_TEST:
            config.stash[item.module.RESOLUTIONS] = item.module.Resolutions()


INSTALL_TEST = "test_every_readme_install_resolves_against_the_public_index"


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):  # pytest -n N
        config.pluginmanager.register(XdistController(), "lstm-conformance-xdist-controller")


class XdistController:
    """In the pytest-xdist controller (which collects nothing itself): starts the README's pip
    resolutions once a worker reports the install test among its collected tests, and tells
    every worker the file their outcome is written to (tests/test_install.py reads it)."""

    def __init__(self):
        self.report = Path(tempfile.mkdtemp(prefix="lstm-conformance-pip-")) / "resolutions.json"
        self.resolutions = None

    def pytest_configure_node(self, node):
        import test_install
        node.workerinput[test_install.REPORT_KEY] = str(self.report)

    def pytest_xdist_node_collection_finished(self, node, ids):
        if self.resolutions is None and any(i.split("[")[0].endswith("::" + INSTALL_TEST) for i in ids):
            import test_install
            self.resolutions = test_install.Resolutions(report_to=self.report)
