"""A gradient array returned as zeros (a parameter left out of the backward pass) or transposed
(returned in the implementation's own layout) is named for that in the gradients check and in
training parity, which fails (not errors) on a wrong-shaped gradient: one defect, one group."""
import numpy as np
import pytest

from lstm_conformance.checks.limits import TRAINING_PARITY_CASE
from lstm_conformance.harness.runner import run_case, run_suite
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.report.summary import problem_groups

CASE = "gate-blocks-distinguishable"
ZERO = "gradient of bias_hh_l0 all zeros (not computed, or the parameter left out of the backward pass)"
TRANSPOSED = "gradient of weight_hh_l0 returned transposed (spec: the canonical layout of SPEC.md §5)"



class BiasGradientOnce(NumpyAdapter):
    """One bias in the implementation: its gradient reported for bias_ih, zeros for bias_hh."""
    name = "bias-gradient-once"

    def gradients(self, problem, upstream):
        grads = super().gradients(problem, upstream)
        return dict(grads, bias_hh_l0=np.zeros_like(grads["bias_hh_l0"]))


class RecurrentGradientTransposed(NumpyAdapter):
    """U (H, 4H) right-multiplied in the implementation; its gradient returned without the .T."""
    name = "recurrent-gradient-transposed"

    def gradients(self, problem, upstream):
        grads = super().gradients(problem, upstream)
        return dict(grads, weight_hh_l0=np.ascontiguousarray(grads["weight_hh_l0"].T))


@pytest.mark.parametrize("adapter, text", [(BiasGradientOnce, ZERO), (RecurrentGradientTransposed, TRANSPOSED)])
def test_the_gradients_check_names_the_array_defect(cases, adapter, text):
    record = run_case(cases[CASE], "float64", adapter(), check="gradients")
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == [text]


@pytest.mark.parametrize("adapter, text", [(BiasGradientOnce, ZERO), (RecurrentGradientTransposed, TRANSPOSED)])
def test_training_parity_fails_with_the_same_diagnosis(cases, adapter, text):
    records = run_suite([cases[TRAINING_PARITY_CASE]], [adapter()], ["float64"], checks=["gradients", "training-parity"])
    assert [r["status"] for r in records] == ["fail", "fail"], [r.get("message") for r in records]
    assert [(g.label, g.count) for g in problem_groups(records)] == [(f"diagnosis: {text}", 2)]


class BiasGradientDoubled(NumpyAdapter):
    name = "bias-gradient-doubled"

    def gradients(self, problem, upstream):
        grads = super().gradients(problem, upstream)
        return dict(grads, bias_hh_l0=2 * grads["bias_hh_l0"])


def test_an_array_wrong_in_another_way_is_neither_zero_nor_transposed(cases):
    record = run_case(cases[CASE], "float64", BiasGradientDoubled(), check="gradients")
    assert record["status"] == "fail"
    assert not {"gradient-zero", "gradient-transposed"} & set(record["diagnosis"]["defects"])
