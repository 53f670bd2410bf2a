"""A float64 problem computed in float32 (the commonest precision defect of a hand-written
LSTM: a float32 weight or buffer left in the model) is named as such in every check that meets
it, so that it forms one group of the summary; a float32 deviation whose values are not float32
numbers is named by the per-operation rounding model."""
import numpy as np
import torch

from lstm_conformance.harness.runner import run_case, run_suite
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.mutants import ControlLSTM
from lstm_conformance.report.summary import problem_groups

CASE = "random/t20b4i16h32/bias/given-state"
COMPUTED_IN_FLOAT32 = "computed in float32 (every output value is a float32 number)"



class ComputesInFloat32(NumpyAdapter):
    """The NumPy LSTM run in float32 whatever the problem's dtype; `cast_back` returns float64
    outputs for float64 problems (the defect shows in the values only), else float32 ones."""
    name = "computes-in-float32"
    cast_back = True

    def prepare(self, problem):
        run = super().prepare(type(problem)(**{**problem.__dict__, "dtype": "float32"}))
        if not self.cast_back:
            return run
        return lambda: {k: np.asarray(v).astype(problem.dtype) for k, v in run().items()}


class ReturnsFloat32(ComputesInFloat32):
    name = "returns-float32"
    cast_back = False


def test_a_float64_problem_computed_in_float32_is_named_in_the_forward_check(cases):
    record = run_case(cases[CASE], "float64", ComputesInFloat32())
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == [COMPUTED_IN_FLOAT32]


def test_a_tiny_problem_is_enough_evidence_for_float32(cases):
    record = run_case(cases["random/t1b1i1h1/bias/zero-state"], "float64", ComputesInFloat32())
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == [COMPUTED_IN_FLOAT32]


def test_float32_outputs_for_float64_inputs_are_named_in_the_dtypes_check(cases):
    record = run_case(cases[CASE], "float64", ReturnsFloat32(), check="dtypes")
    assert record["status"] == "fail"
    assert "outputs must keep the input dtype float64" in record["message"]
    assert record["diagnosis"]["patterns"] == [COMPUTED_IN_FLOAT32]


def test_every_check_that_meets_it_gives_one_group(cases):
    records = run_suite([cases[CASE]], [ComputesInFloat32()], ["float64"],
                        checks=["forward", "batch-independence", "state-chaining", "strided"])
    failed = [r for r in records if r["status"] == "fail"]
    assert {r["check"] for r in failed} >= {"forward", "batch-independence"}
    assert [(g.label, g.count) for g in problem_groups(failed)] == [(f"diagnosis: {COMPUTED_IN_FLOAT32}", len(failed))]


def test_the_correct_implementation_is_not_called_float32(cases):
    assert run_case(cases[CASE], "float64", NumpyAdapter())["status"] == "pass"
    assert run_case(cases[CASE], "float32", ComputesInFloat32())["status"] == "pass"


class RoundsToFloat32(ControlLSTM):
    """The control in float64 with each sum, product and activation rounded to float32, and
    h' = o ⊙ ψ(c') left unrounded, so its outputs are not float32 numbers."""
    name = "rounds-to-float32"

    @staticmethod
    def r(t):
        return t.to(torch.float32).to(t.dtype)

    def gate_blocks(self, a, hidden):
        return super().gate_blocks(self.r(a), hidden)

    def sigmoid(self, z):
        return self.r(torch.sigmoid(z))

    def cell_update(self, f, c, i, g):
        return self.r(self.r(f * c) + self.r(i * g))

    def cell_output(self, c):
        return self.r(torch.tanh(c))


def test_float64_arithmetic_rounded_to_float32_is_named_by_the_rounding_model(cases):
    record = run_case(cases[CASE], "float64", RoundsToFloat32())
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == ["arithmetic rounded to float32 (the outputs deviate as the reference "
                                               "with every operation rounded to float32 does)"]
