"""A failure says where it deviates and names the known defect that reproduces it."""
import itertools

import numpy as np
import pytest
from fixtures.adapters import NaNAdapter, PerturbedAdapter, TextbookSwappedRows
from fixtures.model_outputs_once import variants_once

import lstm_conformance.diagnosis.forward as diagnosis_forward
from lstm_conformance.diagnosis import diagnose_forward, forward_variants, gate_order_name
from lstm_conformance.mutants import ZOO
from lstm_conformance.mutants.zoo import Mutant, _blocks
from lstm_conformance.harness.runner import run_case
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.tolerances import tolerance_for

PATTERN_MUTANTS = [m for m in ZOO if m.defect_id]
DIAGNOSED_RUNS = [(m, dtype) for m in PATTERN_MUTANTS for dtype in m.diagnosis_dtypes]


@pytest.fixture(autouse=True, scope="module")
def each_model_runs_once_per_problem():
    """The diagnoses below meet the same few problems again and again (the 23 gate orders and
    most of the zoo on gate-blocks-distinguishable): each defect model's outputs are computed
    once per problem and reference (fixtures/model_outputs_once.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diagnosis_forward, "forward_variants", variants_once({}))
        yield


def test_the_textbook_torch_code_is_diagnosed_as_i_and_f_swapped(cases):
    r = run_case(cases["toy-memory-tanh"], "float64", TextbookSwappedRows())
    assert r["status"] == "fail"
    assert r["diagnosis"]["patterns"] == ["gate blocks i and f swapped"]
    assert r["message"].endswith("diagnosis: reproduced by: gate blocks i and f swapped")
    assert r["diagnosis"]["where"]["y"]["first_step"] == 0


def test_every_defect_of_the_zoo_has_a_diagnosis_that_names_it():
    assert [m.name for m in ZOO if not m.defect_id] == []
    assert all(m.diagnosis_case and m.diagnosis_dtypes for m in ZOO)


@pytest.mark.parametrize("mutant, dtype", DIAGNOSED_RUNS, ids=lambda v: getattr(v, "name", v))
def test_every_zoo_mutant_is_named_by_the_diagnosis_and_nothing_else(cases, mutant, dtype):
    r = run_case(cases[mutant.diagnosis_case], dtype, mutant(), check=mutant.diagnosis_check)
    assert r["status"] == "fail"
    # the registry's id and its text for this case: linked by id, not by matching strings
    assert r["diagnosis"]["defects"] == [mutant.defect_id], r["diagnosis"]["patterns"]
    assert r["diagnosis"]["patterns"] == [mutant.diagnosis_text()]


def test_each_of_the_23_wrong_gate_orders_is_named_exactly(cases):
    case = cases["gate-blocks-distinguishable"]
    for perm in itertools.permutations(range(4)):
        if perm == (0, 1, 2, 3):
            continue
        mutant = type("Permuted", (Mutant,), {"name": "permuted", "gate_blocks": _blocks(perm)})()
        r = run_case(case, "float32", mutant)
        assert r["diagnosis"]["patterns"] == [gate_order_name(perm)], perm


def test_where_a_single_wrong_element_is(cases):
    r = run_case(cases["random/t20b4i16h32/bias/given-state"], "float32", PerturbedAdapter())
    where = r["diagnosis"]["where"]
    assert set(where) == {"y"}
    assert where["y"] == {"failing_elements": 1, "of": 20 * 4 * 32, "first_step": 3, "steps": "3", "rows": "1",
                          "units": "2"}
    # the steps after it and the final state are right: the value was written wrong, not carried
    assert r["diagnosis"]["defects"] == ["output-written-wrong"]
    assert r["diagnosis"]["patterns"] == ["y wrong while the state the recurrence carries is right (h_n and c_n "
                                          "right, and no wrong value of y reaches the next step): an error in writing "
                                          "the output, not in the LSTM step"]


def test_non_finite_outputs_are_counted(cases):
    r = run_case(cases["random/t5b3i4h7/bias/zero-state"], "float32", NaNAdapter())
    assert r["diagnosis"]["where"]["y"]["non_finite"] == 1
    assert "NaN/Inf where the reference is finite: 1 in y" in r["diagnosis"]["summary"]


def test_no_pattern_claims_the_correct_outputs(cases):
    # The reference's own outputs, run through the diagnosis as if they had failed, match no
    # defect: every pattern differs from the reference on this case.
    problem = materialize(cases["gate-blocks-distinguishable"], "float64")
    from lstm_conformance.reference import lstm_forward
    reference = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0).as_dict()
    assert diagnose_forward(problem, reference, reference, tolerance_for("float64"))["patterns"] == []
    names = [name for name, _ in forward_variants(problem, reference)]
    assert len(names) == len(set(names)) and len(names) >= 23 + 12


def test_the_diagnosis_locates_the_failing_direction(cases):
    r = run_case(cases["bidirectional"], "float64", ZOO_BY_NAME["reverse-direction-misaligned"]())
    where = r["diagnosis"]["where"]
    assert where["y"]["directions"] == ["reverse"]
    assert "h_n" not in where  # the states themselves are right


ZOO_BY_NAME = {m.name: m for m in ZOO}


def test_where_a_wrong_input_gradient_is(cases):
    """A wrong dL/dx element is located by step, batch row and input feature (this once raised
    KeyError in the summary instead of reporting the failure)."""
    import numpy as np

    from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

    class WrongInputGradient(NumpyAdapter):
        def gradients(self, problem, upstream):
            grads = {k: np.array(v) for k, v in super().gradients(problem, upstream).items()}
            grads["x"][3, 1, 2] += 1.0  # time-major case: step 3, batch row 1, feature 2
            for name in grads:  # and every other array wrong too, so no "wrong only in" pattern
                if name != "x":
                    grads[name].flat[0] += 1.0
            return grads

    r = run_case(cases["random/t20b4i16h32/bias/given-state"], "float64", WrongInputGradient(), check="gradients")
    assert r["status"] == "fail"
    where = r["diagnosis"]["where"]["x (upstream all)"]
    assert (where["first_step"], where["rows"], where["units"]) == (3, "1", "2")
    assert "x (upstream all) from step 3 (rows 1, units 2)" in r["message"]
