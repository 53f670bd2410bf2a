"""The tolerances are calibrated: correct implementations stay MIN_MARGIN below them on the
whole library (re-measured here), and they are tight enough to fail the defects they must."""
from pathlib import Path

import pytest

from lstm_conformance import calibration
from lstm_conformance.mutants import zoo
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.harness.runner import run_suite
from lstm_conformance.tolerances import MIN_MARGIN, TOLERANCES

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "vectorised_lstm.py") + ":VectorisedLSTM"


def test_correct_implementations_keep_the_stated_margin_on_the_library(library_runs):
    # calibration.measure(library, adapters) on the records test_builtin_adapters judges too
    # (every check, computed once a session: see conftest.py); the same summary.
    runs = library_runs(*calibration.CORRECT_IMPLEMENTATIONS, EXAMPLE)
    records = [r for r in runs if r["check"] in calibration.MEASURED_CHECKS]
    summary = calibration.summarize(calibration.error_samples(records))
    assert {(c, d) for c in ("forward", "gradients", "state-chaining", "batch-independence", "strided")
            for d in ("float32", "float64")} <= set(summary)
    assert {("dtypes", "float16"), ("dtypes", "bfloat16"), ("padding-invariance", "float32")} <= set(summary)
    thin = {key: (entry["margin"], entry["worst"]) for key, entry in summary.items() if entry["margin"] < MIN_MARGIN}
    assert not thin, f"tolerance margins below {MIN_MARGIN}×:\n{calibration.markdown(summary)}"


# Where the half-precision gradient measurement below finds its largest errors (the three
# largest per dtype, torch-lstm and torch-cell, PyTorch 2.13 on CPU): the default run measures
# these; the whole measurement is `slow`.
HALF_PRECISION_WORST = ("toy-memory-tanh", "saturated-gates", "onnx-test-lstm-with-initial-bias",  # float16
                        "size-grid/t11/b5/h3", "saturated-gates-extreme", "onnx-test-lstm-batchwise")  # bfloat16


@pytest.mark.parametrize("everything", [
    False,
    pytest.param(True, marks=pytest.mark.slow),  # ~150 cases, 2 × 2 gradients runs each: PyTorch measured
], ids=["worst-cases", "every-case"])
def test_half_precision_gradients_keep_the_stated_margin(library, everything):
    adapters = [load_adapter("torch-lstm"), load_adapter("torch-cell")]
    cases = calibration.half_precision_cases(library, 50)
    if not everything:
        cases = [c for c in cases if c.id in HALF_PRECISION_WORST]
        assert {c.id for c in cases} == set(HALF_PRECISION_WORST)
    summary = calibration.measure(cases, adapters, checks=("gradients",))
    assert set(summary) == {("gradients", "float16"), ("gradients", "bfloat16")}
    for key, entry in summary.items():
        assert entry["margin"] >= MIN_MARGIN, (key, entry["worst"], entry["tolerance_used"])


def _largest_abs_y(case):
    from lstm_conformance.reference import lstm_forward
    from lstm_conformance.spec.materialize import materialize
    p = materialize(case, "float32")
    y = lstm_forward(p.config, p.x, p.params, p.h0, p.c0, p.lengths).y
    return float(abs(y).max()) if y.size else 0.0


def test_one_element_off_by_1e_3_fails_float32_wherever_y_is_not_tiny(library):
    tol = TOLERANCES["float32"]
    bound = tol.atol / (1e-3 - tol.rtol)  # 1e-3·|y| exceeds atol + rtol·|y| above this
    assert bound < 0.025
    cases = [c for c in library if c.expect_error is None and c.group in ("random", "numerics", "states", "sizes")]
    records = run_suite(cases, [zoo.OneElementOff()], ["float32"], checks=["forward"], diagnose=False)
    by_case = {c.id: c for c in cases}
    ran = [r for r in records if r["status"] in ("pass", "fail")]
    assert len(ran) > 30
    for r in ran:
        if _largest_abs_y(by_case[r["case"]]) > 1.5 * bound:
            assert r["status"] == "fail", r["case"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float16_computation_fails_float32_and_float64(library, dtype):
    cases = [c for c in library if c.group in ("random", "numerics", "states")
             and c.shape["batch"] * c.shape["seq_len"] > 1]
    records = run_suite(cases, [zoo.Float16Compute()], [dtype], checks=["forward"], diagnose=False)
    ran = [r for r in records if r["status"] in ("pass", "fail")]
    assert len(ran) > 20 and all(r["status"] == "fail" for r in ran), [r["case"] for r in ran if r["status"] == "pass"]
