"""Messages people can read: NaN agreement, no false 'computed in bfloat16', short gradient messages."""
import numpy as np

from lstm_conformance.diagnosis import computed_in
from lstm_conformance.harness.runner import run_case
from lstm_conformance.metrics import compare_output
from lstm_conformance.mutants.zoo import BiasGradientFromForgetGate
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.tolerances import tolerance_for


def test_nan_where_nan_is_expected_is_agreement_and_nan_where_a_number_is_expected_is_not():
    tol = tolerance_for("float32")
    expected = np.array([[1.0, np.nan, np.inf]])
    same = compare_output("y", expected, np.array([[1.0, np.nan, np.inf]]), tol, "float32", None, axes=("b", "u"))
    assert same["passed"] and same["max_abs"] == 0.0
    worse = compare_output("y", expected, np.array([[np.nan, np.nan, np.inf]]), tol, "float32", None, axes=("b", "u"))
    assert not worse["passed"] and "expected nan" not in worse["message"]


def test_whole_numbers_are_no_evidence_of_half_precision(cases):
    problem = materialize(cases["toy-memory-linear"], "float64")
    reference = {"y": np.full((3, 1, 1), 0.3), "h_n": np.full((1, 1, 1), 0.3), "c_n": np.full((1, 1, 1), 0.7),
                 "c": np.full((3, 1, 1), 0.7), }
    integers = {k: np.round(v * 10) for k, v in reference.items()}  # 3, 7: bfloat16 numbers too
    assert computed_in(problem, integers, reference) is None
    zeros = {k: np.zeros_like(v) for k, v in reference.items()}
    assert computed_in(problem, zeros, reference) is None


def test_a_gradient_failure_message_is_short_and_starts_with_the_worst_array(cases):
    record = run_case(cases[BiasGradientFromForgetGate.diagnosis_case], "float64", BiasGradientFromForgetGate(),
                      check="gradients")
    assert record["status"] == "fail"
    head = record["message"].split(" — diagnosis:")[0]
    assert len(head) <= 400, head
    worst = max((c for c in record["gradients"] if not c["passed"]), key=lambda c: c["tolerance_used"])
    assert head.startswith(f"upstream {worst['upstream']}: {worst['message']}")


def test_a_gradient_failure_no_defect_explains_keeps_its_whole_message_short(cases):
    import numpy as np

    from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

    class EveryGradientOff(NumpyAdapter):
        def gradients(self, problem, upstream):
            grads = {k: np.array(v) for k, v in super().gradients(problem, upstream).items()}
            for value in grads.values():
                value.flat[0] += 1.0
            return grads

    record = run_case(cases["random/t5b3i4h7/bias/given-state"], "float64", EveryGradientOff(), check="gradients")
    assert record["status"] == "fail" and record["diagnosis"]["patterns"] == []
    assert len(record["diagnosis"]["where"]) > 10  # every array under every upstream combination, in the record
    assert len(record["message"]) <= 600, record["message"]
    assert "more (the diagnosis' where lists them)" in record["message"]
