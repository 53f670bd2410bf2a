"""The systematic defect models of the diagnosis: a gate swap confined to one array, a gate
forced to 1, an activation computed as another one of the spec. Each deliberately wrong
implementation below is named by exactly that model."""
import dataclasses

import numpy as np
import pytest

from lstm_conformance.diagnosis import permute_gates
from lstm_conformance.harness.runner import run_case
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.spec.model import Activation


class WrongProblem(NumpyAdapter):
    """The numpy implementation run on a changed problem: the defect is the change."""
    name = "numpy-with-a-defect"

    def __init__(self, change):
        self.change = change

    def prepare(self, problem):
        return super().prepare(self.change(problem))


def swap_i_f_in_weight_ih(problem):
    H = problem.config.hidden_size
    return dataclasses.replace(problem, params=permute_gates(problem.params, (1, 0, 2, 3), H, ("weight_ih",)))


def cell_as_sigmoid(problem):
    acts = (problem.config.activation("gate"), Activation("sigmoid"), problem.config.activation("hidden"))
    return dataclasses.replace(problem, config=problem.config.with_options(activations=acts))


@pytest.mark.parametrize("change, defect, text", [
    (swap_i_f_in_weight_ih, "gate-blocks-swapped-in", "gate blocks i and f swapped in weight_ih only"),
    (cell_as_sigmoid, "activation-computed-as", "cell activation φ computed as sigmoid (spec: tanh)"),
])
def test_a_defect_model_is_named(cases, change, defect, text):
    record = run_case(cases["gate-blocks-distinguishable"], "float64", WrongProblem(change))
    assert record["status"] == "fail"
    assert record["diagnosis"]["defects"] == [defect] and record["diagnosis"]["patterns"] == [text]


def test_the_full_swap_is_named_once_not_also_per_array(cases):
    def swap_everywhere(problem):
        return dataclasses.replace(problem, params=permute_gates(problem.params, (1, 0, 2, 3),
                                                                 problem.config.hidden_size))
    record = run_case(cases["gate-blocks-distinguishable"], "float64", WrongProblem(swap_everywhere))
    assert record["diagnosis"]["defects"] == ["gate-blocks-swapped"]
    assert np.isfinite(record["max_abs"])
