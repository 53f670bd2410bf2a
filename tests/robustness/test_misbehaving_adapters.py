"""Adapters that raise, return NaN or Inf, wrong shapes or wrong dtypes: each is reported with
a clear status and message, and the run goes on (in process; crashes and hangs are in
test_isolated_workers.py)."""
import bad_adapters as bad
import pytest

from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.harness.runner import run_suite

CASE = "random/t5b3i4h7/bias/given-state"


@pytest.fixture(scope="module")
def case(library):
    return next(c for c in library if c.id == CASE)


def by_check(case, adapter):
    return {r["check"]: r for r in run_suite([case], [adapter], ["float32"])}


def test_nan_and_inf_fail_and_say_where(case):
    inf = by_check(case, bad.InfInState())["forward"]
    assert inf["status"] == "fail"
    assert "h_n[layer_dir=0, b=0, unit=0]" in inf["message"] and "got inf" in inf["message"]
    nan = by_check(case, bad.NaNInY())["forward"]
    assert nan["status"] == "fail" and "y[t=2, b=1, unit=3]" in nan["message"] and "got nan" in nan["message"]


def test_a_transposed_output_fails_with_both_shapes(case):
    record = by_check(case, bad.TransposedY())["forward"]
    assert record["status"] == "fail" and "y has shape (3, 5, 7), expected (5, 3, 7)" in record["message"]


@pytest.mark.parametrize("adapter, words", [
    (bad.HalfPrecisionOutputs(), "y is float16"),
    (bad.IntegerOutputs(), "y is int64"),
    (bad.TextOutputs(), "y is <U32"),     # even though text parses back into the right numbers
])
def test_wrong_dtypes_fail_with_the_dtype_named(case, adapter, words):
    record = by_check(case, adapter)["dtypes"]
    assert record["status"] == "fail"
    assert "must keep the input dtype float32" in record["message"] and words in record["message"]


@pytest.mark.parametrize("adapter, words", [
    (bad.ReturnsNone(), "ContractError: the prepared callable returned NoneType"),
    (bad.UnpicklableError(), "RuntimeError: device lost"),
])
def test_raising_or_returning_nothing_is_an_error_with_the_message(case, adapter, words):
    record = by_check(case, adapter)["forward"]
    assert record["status"] == "error" and words in record["message"] and record["traceback"]


def test_the_run_goes_on_after_a_faulty_adapter(case):
    records = run_suite([case], [bad.ReturnsNone(), NumpyAdapter()], ["float32"])
    statuses = {(r["impl"], r["check"]): r["status"] for r in records}
    assert statuses[("returns-none", "forward")] == "error"
    assert statuses[("numpy", "forward")] == "pass"
