"""The timing session: pytest-benchmark over timed_tests.py, in this process, with the adapters
and shapes handed over by a small plugin object; the machine's own GEMM rate is measured in
the same session, before and after the implementations. pytest is imported here only, so the
other commands do not load it.

The implementations of one shape × mode × dtype are timed together, round-robin
(interleave.py), the first time one of them is asked for; each benchmark then hands its own
rounds to pytest-benchmark, which computes the statistics and writes the JSON as usual."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from ..adapter import prepared_callable
from ..spec.materialize import materialize
from .flops import gemm_shape
from .interleave import NOISE_LIMIT, measure_group, plan_rounds
from .records import adapter_device, speed_records
from .sets import BASELINE, MAX_ROUNDS, MODES
from .shapes import parse_shape
from .threads import DEFAULT_THREADS, using_threads


class _BenchPlugin:
    """Hands the adapters and shapes to timed_tests.py inside the pytest session."""

    def __init__(self, adapters, shapes, dtypes, modes, max_time=1.0, min_rounds=5, max_rounds=MAX_ROUNDS,
                 quick=False, noise_limit=NOISE_LIMIT):
        self.adapters, self.shapes, self.dtypes, self.modes = adapters, list(shapes), list(dtypes), list(modes)
        # rounds per group: max_time per implementation, at least min_rounds, at most max_rounds
        self.max_time, self.min_rounds, self.max_rounds = max_time, min_rounds, max_rounds
        self.noise_limit = noise_limit
        self.skipped: dict = {}  # (shape, mode, dtype, impl) -> why it was not timed
        self.groups: dict = {}  # (shape, mode, dtype) -> {"durations": {impl: [s]}, "noise": Noise}
        self.interrupted = False
        devices = sorted({adapter_device(a) for a in adapters if a.skip_reason() is None} | {"cpu"})
        # (dtype, device, library, M, K, N): NumPy's BLAS too on the CPU, where it has the dtype
        self.gemms = [(dtype, device, library, *gemm_shape(device, quick)) for dtype in self.dtypes
                      for device in devices
                      for library in (("torch", "numpy") if device == "cpu" and dtype in ("float32", "float64")
                                      else ("torch",))]

    def group(self, shape: str, mode: str, dtype: str) -> dict:
        """The round-robin timings of every implementation of one shape, mode and dtype
        (measured on the first request); why the others were not timed is in self.skipped."""
        key = (shape, mode, dtype)
        if key not in self.groups:
            case = parse_shape(shape)
            problem = materialize(case, dtype)
            runs, one_call = {}, {}
            for adapter in self.adapters:
                run = self._callable(adapter, problem, case.id, mode, dtype)
                if run is None:
                    continue
                started = time.perf_counter()
                run()  # a call outside the timing: lazy initialisation, autotuning, compilation, caches
                one_call[adapter.name] = time.perf_counter() - started
                runs[adapter.name] = run
            durations, noise = {}, None
            if runs:
                rounds = plan_rounds(one_call, self.max_time, self.min_rounds, self.max_rounds)
                durations, noise = measure_group(runs, rounds, limit=self.noise_limit)
            self.groups[key] = {"durations": durations, "noise": noise}
        return self.groups[key]

    def _callable(self, adapter, problem, shape, mode, dtype):
        reason = adapter.skip_reason() or adapter.unsupported_reason(problem)
        run = None
        if not reason:
            run = prepared_callable(adapter, problem) if mode == "forward" else adapter.prepare_training(problem)
            if run is None:  # the base class's prepare_training: not available
                reason = f"{adapter.name} has no timed forward+backward"
        if reason:
            self.skipped[(shape, mode, dtype, adapter.name)] = reason
        return run

    def pytest_keyboard_interrupt(self, excinfo):
        # a real Ctrl-C / SIGTERM; pytest also calls this hook to stop on collection errors
        self.interrupted = not excinfo.errisinstance(pytest.Session.Interrupted)

    @pytest.fixture
    def lstm_bench_plugin(self):
        return self

    def pytest_generate_tests(self, metafunc):
        # Parameters are plain strings and ints: pytest-benchmark writes them into its JSON.
        if "lstm_bench" in metafunc.fixturenames:
            items = [(shape, mode, dtype, index) for shape in self.shapes for mode in self.modes
                     for dtype in self.dtypes for index in range(len(self.adapters))]
            metafunc.parametrize("lstm_bench", items,
                                 ids=[f"{s}-{m}-{d}-{self.adapters[i].name}" for s, m, d, i in items])
        if "gemm_bench" in metafunc.fixturenames:
            metafunc.parametrize("gemm_bench", self.gemms, ids=["-".join(map(str, g)) for g in self.gemms])


def run_conditions(threads: dict | None = None) -> dict:
    """Thread settings and machine load at the start of a run: on a shared CPU they decide
    whether timings mean anything (two threads on two busy cores stall each other)."""
    info = {**(threads or {}), "torch_threads": torch.get_num_threads()}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


@contextlib.contextmanager
def _outside_xdist():
    """pytest-benchmark turns itself off in an xdist worker (it reads PYTEST_XDIST_WORKER): the
    timing session is a process's own, even inside a `pytest -n` run, so hide the variable."""
    worker = os.environ.pop("PYTEST_XDIST_WORKER", None)
    try:
        yield
    finally:
        if worker is not None:
            os.environ["PYTEST_XDIST_WORKER"] = worker


def run_benchmarks(adapters, shapes, dtype, json_path, quick=False, modes=("forward",),
                   baseline=BASELINE, max_time=1.0, threads: int | None = DEFAULT_THREADS) -> list[dict]:
    """Time every adapter on every shape, mode and dtype (`dtype`: one name or a list); returns
    speed records, one per shape × mode × dtype × adapter. `threads`: the thread count of
    torch, OpenBLAS, MKL and OpenMP during the timings (bench.using_threads; None: leave as is);
    the caller's settings are restored afterwards."""
    dtypes = [dtype] if isinstance(dtype, str) else list(dtype)
    for s in shapes:
        parse_shape(s)  # fail fast on a bad descriptor, before any timing
    bad_modes = set(modes) - set(MODES)
    if bad_modes:
        raise ValueError(f"modes {sorted(bad_modes)}: expected {', '.join(MODES)}")
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.unlink(missing_ok=True)  # never read a previous run's numbers
    plugin = _BenchPlugin(adapters, shapes, dtypes, modes, max_time=min(0.2, max_time) if quick else max_time,
                          min_rounds=3 if quick else 5, quick=quick)
    with using_threads(threads) as thread_settings:
        return _run_session(plugin, json_path, run_conditions(thread_settings), adapters, shapes, dtypes, modes,
                            baseline)


def _run_session(plugin, json_path, conditions, adapters, shapes, dtypes, modes, baseline) -> list[dict]:
    pytest_output = io.StringIO()  # pytest's own lines are shown only when the session fails
    # The test file runs from a folder of its own: pytest would otherwise collect the packages
    # around it and import this package a second time under its folder's name.
    with tempfile.TemporaryDirectory(prefix="lstm-conformance-bench-") as folder:
        test_file = Path(folder) / "timed_tests.py"
        shutil.copyfile(Path(__file__).parent / "session" / "timed_tests.py", test_file)
        # no xdist in the timing session, even inside a test run with -n: pytest-benchmark
        # disables itself where xdist is active
        args = [str(test_file), "-p", "no:cacheprovider", "-p", "no:xdist", "-qq", "--import-mode=importlib",
                "--benchmark-quiet",  # our speed table is the speed output, not pytest-benchmark's
                "--benchmark-save-data",  # every round in the JSON: the ratios' bootstrap intervals need them
                f"--benchmark-json={json_path}", "--benchmark-sort=name",
                "--rootdir", folder, "-o", "python_files=timed_tests.py", "-o", "testpaths="]
        with contextlib.redirect_stdout(pytest_output), _outside_xdist():
            code = pytest.main(args, plugins=[plugin])
    if plugin.interrupted:  # pytest caught Ctrl-C / SIGTERM: pass it on as such
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        print(pytest_output.getvalue(), end="", file=sys.stderr)
        raise RuntimeError(f"the benchmark session failed (pytest exit status {int(code)}); see the output above")
    records = speed_records(json_path, adapters, shapes, dtypes, plugin.skipped, modes, baseline)
    for record in records:
        record["conditions"] = conditions
    return records
