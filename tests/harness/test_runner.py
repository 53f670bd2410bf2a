"""Every status of the runner, and what a failure says."""
import numpy as np
import pytest
from fixtures.adapters import AcceptsEverything, NaNAdapter, PerturbedAdapter, TextbookSwappedRows, WrongShapeAdapter
from fixtures.adapters_without_torch import NoGPUAdapter, RaisingAdapter

from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.implementations.torch_lstm import TorchLSTMAdapter
from lstm_conformance.harness.expectations import gate_status as exit_status
from lstm_conformance.harness.runner import run_case, run_suite
from lstm_conformance.spec.loader import load_text


def case_by_id(library, case_id):
    return next(c for c in library if c.id == case_id)


def test_pass_records_metrics_and_tolerance(library):
    record = run_case(case_by_id(library, "random/t5b3i4h7/bias/given-state"), "float32", NumpyAdapter())
    assert record["status"] == "pass", record["message"]
    assert record["tolerance"] == {"atol": 2e-5, "rtol": 1e-4}
    outputs = {o["output"]: o for o in record["outputs"]}
    assert set(outputs) == {"y", "h_n", "c_n", "c"}
    assert 0 < outputs["y"]["max_abs"] < 1e-5 and outputs["y"]["max_ulp"] >= 0


def test_swapped_gate_rows_fail_the_tanh_toy_although_rounded_outputs_match(library):
    record = run_case(case_by_id(library, "toy-memory-tanh"), "float64", TextbookSwappedRows())
    assert record["status"] == "fail"
    rounded = [lit for lit in record["literals"] if lit["rule"] == "round 0"]
    assert rounded and all(lit["passed"] for lit in rounded)  # the weak check is fooled...
    y = next(o for o in record["outputs"] if o["output"] == "y")
    assert not y["passed"]  # ...the unrounded comparison is not
    assert y["worst"]["expected"] == pytest.approx(0.9636, abs=1e-3)
    assert y["worst"]["got"] == pytest.approx(0.64, abs=0.01)
    assert "y[t=5, b=0, unit=0]" in record["message"]


def test_failure_locates_the_worst_element(library):
    record = run_case(case_by_id(library, "random/t20b4i16h32/bias/given-state"), "float32", PerturbedAdapter())
    assert record["status"] == "fail"
    y = next(o for o in record["outputs"] if o["output"] == "y")
    assert y["worst"]["index"] == {"t": 3, "b": 1, "unit": 2}
    assert y["failing_elements"] == 1
    assert y["worst"]["got"] == pytest.approx(y["worst"]["expected"] * 1.001, rel=1e-6)


def test_error_keeps_the_message_and_the_run_goes_on(library):
    cases = [case_by_id(library, "random/t1b1i1h1/bias/zero-state")]
    records = run_suite(cases, [RaisingAdapter(), NumpyAdapter()], checks=["forward"])
    assert [r["status"] for r in records] == ["error", "pass", "error", "pass"]
    assert "RuntimeError: kernel exploded on purpose" in records[0]["message"]
    assert exit_status(records) == 1


def test_unsupported_with_reason_is_not_a_failure(library):
    record = run_case(case_by_id(library, "toy-memory-linear"), "float64", TorchLSTMAdapter())
    assert record["status"] == "unsupported"
    assert "fixed activations" in record["message"]
    assert exit_status([record]) == 0


def test_skipped_adapter_is_never_prepared(library):
    record = run_case(case_by_id(library, "toy-memory-tanh"), "float32", NoGPUAdapter())
    assert record["status"] == "skipped" and "GPU" in record["message"]
    assert exit_status([record]) == 0


def test_wrong_shape_and_nan_fail_with_a_message(library):
    case = case_by_id(library, "random/t5b3i4h7/bias/zero-state")
    wrong = run_case(case, "float32", WrongShapeAdapter())
    assert wrong["status"] == "fail" and "y has shape (1, 1), expected (5, 3, 7)" in wrong["message"]
    nan = run_case(case, "float32", NaNAdapter())
    assert nan["status"] == "fail"
    y = next(o for o in nan["outputs"] if o["output"] == "y")
    assert y["max_abs"] == float("inf") and y["worst"]["index"] == {"t": 4, "b": 2, "unit": 6}


ERROR_CASE = """
cases:
  - id: empty-sequence
    about: T = 0 must be rejected
    expect_error: a sequence needs at least one step
    shape: {seq_len: 0, batch: 2, input_size: 3, hidden_size: 4}
"""


def test_expected_error_cases_pass_only_when_the_implementation_raises():
    case = load_text(ERROR_CASE)[0]
    assert run_case(case, "float32", TorchLSTMAdapter())["status"] == "pass"
    lenient = run_case(case, "float32", AcceptsEverything())
    assert lenient["status"] == "fail" and "must raise" in lenient["message"]


def test_exit_status_counts_only_fail_and_error():
    assert exit_status([{"status": s} for s in ("pass", "unsupported", "skipped")]) == 0
    assert exit_status([{"status": "pass"}, {"status": "fail"}]) == 1
    assert exit_status([{"status": "error"}]) == 1


def test_reference_is_compared_on_inputs_rounded_to_the_dtype(library):
    # float32 inputs are not float64 inputs: a correct float32 run must pass at float32
    # tolerance against the reference of the rounded inputs, with errors far below 1e-3.
    record = run_case(case_by_id(library, "random/t50b8i64h64/bias/given-state"), "float32", TorchLSTMAdapter())
    assert record["status"] == "pass" and record["max_abs"] < 1e-5
    assert np.isfinite(record["max_rel"])


def test_units_follow_run_suite_order_with_the_extra_half_precision_runs(library):
    from lstm_conformance.implementations.torch_cell import TorchCellAdapter
    from lstm_conformance.harness.runner import iter_units, run_unit

    cases = [case_by_id(library, "toy-memory-tanh"), case_by_id(library, "toy-memory-linear")]
    adapters = [NumpyAdapter(), TorchCellAdapter()]
    units = list(iter_units(cases, adapters))
    assert [u.id for u in units] == [
        "toy-memory-tanh[numpy-float64]", "toy-memory-tanh[torch-cell-float64]",
        "toy-memory-tanh[numpy-float32]", "toy-memory-tanh[torch-cell-float32]",
        "toy-memory-tanh[torch-cell-float16]", "toy-memory-tanh[torch-cell-bfloat16]",
        "toy-memory-linear[numpy-float64]", "toy-memory-linear[torch-cell-float64]",
        "toy-memory-linear[numpy-float32]", "toy-memory-linear[torch-cell-float32]",
        "toy-memory-linear[torch-cell-float16]", "toy-memory-linear[torch-cell-bfloat16]"]
    assert [c.name for c in units[4].checks] == ["dtypes"]
    by_units = [r for unit in units for r in run_unit(unit, diagnose=False)]
    by_suite = run_suite(cases, adapters, diagnose=False)

    def key(r):
        return r["case"], r["dtype"], r["impl"], r["check"], r["status"]
    assert [key(r) for r in by_units] == [key(r) for r in by_suite]
    assert {r["dtype"] for r in by_suite if r["check"] == "dtypes"} >= {"float16", "bfloat16"}


def test_units_honour_dtypes_and_checks_and_leave_out_units_no_check_applies_to(library):
    from lstm_conformance.implementations.torch_cell import TorchCellAdapter
    from lstm_conformance.harness.runner import iter_units

    cases = [case_by_id(library, "toy-memory-tanh")]
    adapters = [TorchCellAdapter()]
    assert [u.id for u in iter_units(cases, adapters, dtypes=["float16"])] == ["toy-memory-tanh[torch-cell-float16]"]
    assert [u.id for u in iter_units(cases, adapters, checks=["forward"])] == [
        "toy-memory-tanh[torch-cell-float64]", "toy-memory-tanh[torch-cell-float32]"]
    assert list(iter_units(cases, adapters, checks=["padding-invariance"])) == []  # no lengths in the toy
    with pytest.raises(ValueError):
        list(iter_units(cases, adapters, checks=["no-such-check"]))
