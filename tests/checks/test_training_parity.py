"""training-parity: the textbook character model trained with an implementation's LSTM and with
the reference's gives the same loss curve and final parameters for correct implementations,
and not for one whose backward pass detaches the state carried between steps (its forward is
exact, so the forward check passes it)."""
from importlib import resources

import numpy as np
import pytest

from fixtures.adapters import ForwardOnly

from lstm_conformance.checks import CHECKS, training
from lstm_conformance.checks.base import CaseRun
from lstm_conformance.checks.reference_cache import ReferenceCache
from lstm_conformance.harness.runner import run_case
from lstm_conformance.mutants import ControlLSTM, zoo
from lstm_conformance.tolerances import MIN_MARGIN

CASE = training.CASE_ID


def record(cases, dtype, adapter, check="training-parity"):
    return run_case(cases[CASE], dtype, adapter, check=check)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl", ["numpy", "torch-lstm", "torch-cell"])
def test_correct_implementations_train_like_the_reference_within_the_stated_margin(library_runs, impl, dtype):
    # the training-parity record of the library matrix (run_suite, computed once a session:
    # tests/conftest.py), not a second 300-step training
    [r] = [r for r in library_runs(impl, check="training-parity") if r["dtype"] == dtype]
    assert r["case"] == CASE and r["status"] == "pass", r["message"]
    assert {c["output"] for c in r["outputs"]} == {"loss", "final W_hq", "final b_q", "final weight_ih_l0",
                                                   "final weight_hh_l0", "final bias_ih_l0", "final bias_hh_l0"}
    # the margin the module docstring states (24× in float32 measured; > 10^5 in float64)
    assert r["tolerance_used"] <= 1.0 / MIN_MARGIN, r["tolerance_used"]
    assert r["training"]["loss_first"] > 3.3 and r["training"]["loss_last"] < 2.9  # it learns something


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_detached_state_path_passes_the_forward_check_but_fails_parity(cases, dtype):
    mutant = zoo.StateDetached()
    assert record(cases, dtype, mutant, "forward")["status"] == "pass"
    r = record(cases, dtype, mutant)
    assert r["status"] == "fail"
    assert r["message"].startswith("training diverges from the reference's (the loss departs at step")
    assert r["tolerance_used"] > 100  # far outside, not at the edge
    assert len(r["message"]) < 700


def test_adapters_without_gradients_are_unsupported_with_the_reason(cases):
    r = record(cases, "float32", ForwardOnly())
    assert r["status"] == "unsupported"
    assert "no gradient support" in r["message"] and "training needs the backward pass" in r["message"]


def test_it_applies_to_the_dedicated_case_only(library):
    check = CHECKS["training-parity"]
    assert [c.id for c in library if check.applies(c)] == [CASE]


def test_the_text_is_package_data_and_small():
    text = resources.files("lstm_conformance.spec").joinpath(training.TEXT_FILE).read_text(encoding="utf-8")
    assert text == training.training_text() and 500 < len(text) < 5000 and len(set(text)) <= 40


def test_both_runs_start_from_the_same_parameters_and_batches_and_the_reference_run_is_cached(cases, tmp_path):
    settings = training.Settings(steps=3)
    cache = ReferenceCache(folder=tmp_path)
    first = training.reference_training("float64", 207, settings, cache=cache)
    again = training.reference_training("float64", 207, settings, cache=ReferenceCache(folder=tmp_path))
    assert cache.computed == 1 and all(np.array_equal(first["params"][k], again["params"][k]) for k in first["params"])
    # the control (PyTorch, autograd) through the adapter contract: the same curve to rounding
    run = CaseRun(cases[CASE], "float64", ControlLSTM(), cache)
    got = training.train(*training.implementation_steps(run), "float64", 207, settings)
    assert np.allclose(got["loss"], first["loss"], rtol=1e-12, atol=0)
    assert got["loss"][0] == pytest.approx(np.log(30), abs=0.02)  # N(0, 0.01²): a near-uniform start
