"""The errors check: a crash is never a rejection, and one behaviour is one finding."""
from pathlib import Path

from lstm_conformance.harness.isolation import isolate_all, close_all
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.harness.runner import run_suite
from lstm_conformance.report import summary
from lstm_conformance.spec.loader import load_cases, select

BAD = Path(__file__).resolve().parents[1] / "robustness" / "bad_adapters.py"


CRASHES_ON_T0 = """
import ctypes
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

class SegfaultsOnT0(NumpyAdapter):
    name = "segfaults-on-t0"

    def prepare(self, problem):
        if problem.seq_len == 0:
            ctypes.string_at(0)  # the process dies: SIGSEGV
        return super().prepare(problem)
"""


def test_a_crash_on_invalid_input_is_an_error_not_a_rejection(tmp_path):
    (tmp_path / "crashes.py").write_text(CRASHES_ON_T0)
    adapters = isolate_all([f"{tmp_path / 'crashes.py'}:SegfaultsOnT0"])
    try:  # the valid twin (the case itself) runs; the derived T = 0 input kills the worker
        records = run_suite(select(load_cases(), ["random/t5b3i4h7/bias/given-state"]), adapters, ["float32"],
                            checks=["errors"])
    finally:
        close_all(adapters)
    assert [r["status"] for r in records] == ["error"], records
    assert "AdapterCrashed" in records[0]["message"] and "SIGSEGV" in records[0]["message"]


def test_accepting_an_invalid_input_is_one_finding_over_the_cases(tmp_path):
    adapter = load_adapter(f"{BAD}:_Correct")
    # an implementation that returns zeros for T = 0 instead of raising
    original = adapter.prepare

    def prepare(problem):
        if problem.seq_len == 0:
            import numpy as np
            return lambda: {"y": np.zeros(problem.x.shape[:-1] + (problem.config.hidden_size,)),
                            "h_n": np.ones((1, problem.batch, problem.config.hidden_size)),
                            "c_n": np.ones((1, problem.batch, problem.config.hidden_size))}
        return original(problem)
    adapter.prepare = prepare
    cases = select(load_cases(), ["random/t5b3*", "random/t1b1*"])
    records = [r for r in run_suite(cases, [adapter], ["float32"], checks=["errors"]) if r["status"] == "fail"]
    assert len(records) >= 4
    labels = {summary.problem_label(r) for r in records}
    assert labels == {"accepts invalid input: T = 0 (not the accepted answer either)"} or \
        labels == {"accepts invalid input: T = 0"}, labels
