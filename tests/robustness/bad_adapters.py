"""Misbehaving adapters: each one does a single thing wrong, the rest is a correct LSTM.

They are loaded by file path (`bad_adapters.py:Class`), also inside isolated workers."""
import ctypes
import os
import threading

import numpy as np

from lstm_conformance.adapter import Adapter, Capabilities
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter


class _Correct(NumpyAdapter):
    """The built-in NumPy adapter, restricted to the plain features, as a base."""

    def capabilities(self):
        return Capabilities(dtypes={"float32", "float64"}, features={"bias", "initial_state"})


class Hangs(_Correct):
    name = "hangs"

    def prepare(self, problem):
        def run():
            threading.Event().wait()  # never returns
        return run


class HangsOnlyInPrepare(_Correct):
    name = "hangs-in-prepare"

    def prepare(self, problem):
        threading.Event().wait()


class SlowButFine(_Correct):
    """Slow after its first case; used to interrupt a run half-way. The first case runs at full
    speed, so that its results come out at once; after it every call takes 0.1 s: `-k random
    --dtype float32` then runs for over 16 s more (165 calls), far longer than the test takes
    to send its signal once it has read the first case's results."""
    name = "slow-but-fine"
    _first_case = None

    def prepare(self, problem):
        run = super().prepare(problem)
        if self._first_case is None:
            self._first_case = problem.case_id
        if problem.case_id == self._first_case:
            return run

        def slow():
            threading.Event().wait(0.1)
            return run()
        return slow


class Segfaults(_Correct):
    name = "segfaults"

    def prepare(self, problem):
        def run():
            ctypes.string_at(0)  # reads address 0: SIGSEGV in native code
        return run


class SegfaultsOnT1(_Correct):
    """Crashes on one-step problems only, so that the run must go on after the crash."""
    name = "segfaults-on-t1"

    def prepare(self, problem):
        run = super().prepare(problem)
        if problem.seq_len == 1:
            return lambda: ctypes.string_at(0)
        return run


class AbortsOnT1(_Correct):
    """A C-level abort (as a failed assertion in a native kernel) on one-step problems only."""
    name = "aborts-on-t1"

    def prepare(self, problem):
        run = super().prepare(problem)
        if problem.seq_len == 1:
            return os.abort
        return run


class ExitsTheProcess(_Correct):
    name = "exits"

    def prepare(self, problem):
        return lambda: os._exit(3)


class InfInState(_Correct):
    name = "inf-h_n"

    def prepare(self, problem):
        run = super().prepare(problem)

        def poisoned():
            out = dict(run())
            out["h_n"] = np.array(out["h_n"], copy=True)
            out["h_n"].flat[0] = np.inf
            return out
        return poisoned


class NaNInY(_Correct):
    name = "nan-y"

    def prepare(self, problem):
        run = super().prepare(problem)

        def poisoned():
            out = dict(run())
            out["y"] = np.array(out["y"], copy=True)
            out["y"][2, 1, 3] = np.nan
            return out
        return poisoned


class HalfPrecisionOutputs(_Correct):
    """Computes in float64, returns float16: a silent precision loss for a float32 problem."""
    name = "float16-outputs"

    def prepare(self, problem):
        run = super().prepare(problem)
        return lambda: {k: np.asarray(v).astype(np.float16) for k, v in run().items()}


class IntegerOutputs(_Correct):
    name = "integer-outputs"

    def prepare(self, problem):
        run = super().prepare(problem)
        return lambda: {k: np.asarray(v).astype(np.int64) for k, v in run().items()}


class TextOutputs(_Correct):
    name = "text-outputs"

    def prepare(self, problem):
        run = super().prepare(problem)
        return lambda: {k: np.asarray(v).astype(str) for k, v in run().items()}


class ReturnsNone(_Correct):
    name = "returns-none"

    def prepare(self, problem):
        return lambda: None


class TransposedY(_Correct):
    """y as (B, T, H) for a time-major problem: the wrong shape, right numbers."""
    name = "transposed-y"

    def prepare(self, problem):
        run = super().prepare(problem)

        def transposed():
            out = dict(run())
            out["y"] = np.swapaxes(out["y"], 0, 1)
            return out
        return transposed


class UnpicklableError(_Correct):
    """Raises an exception that cannot cross a process boundary as itself."""
    name = "unpicklable-error"

    def prepare(self, problem):
        def run():
            err = RuntimeError("device lost")
            err.handle = threading.Lock()  # locks cannot be pickled
            raise err
        return run


class FailsToConstruct(Adapter):
    name = "fails-to-construct"

    def __init__(self):
        raise OSError("libmylstm.so: cannot open shared object file")
