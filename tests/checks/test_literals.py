"""Literal expectations are judged with the tested dtype's tolerance added to their own rule:
a float32 implementation within the calibrated forward tolerance never fails one, a real
deviation still does, and a failure message shows the digits where the numbers differ."""
import numpy as np
import pytest

from lstm_conformance.literals import check_literals, distinct
from lstm_conformance.reference import lstm_forward
from lstm_conformance.spec.loader import load_text
from lstm_conformance.spec.materialize import materialize, round_to_dtype
from lstm_conformance.tolerances import tolerance_for


def literal_cases(library):
    cases = [c for c in library if c.expect]
    assert len(cases) >= 4  # toy, clip, cell growth, seeds: the library's literal cases
    return cases


def reference_outputs(problem) -> dict:
    return lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0,
                        problem.lengths).as_dict()


def pushed_away(problem, outputs: dict, fraction: float) -> dict:
    """Every output moved by `fraction` of the forward tolerance, away from zero: the worst a
    passing implementation may do on each element (the reference check would still pass)."""
    tol = tolerance_for(problem.dtype)
    return {k: v + fraction * np.sign(v) * (tol.atol + tol.rtol * np.abs(v)) for k, v in outputs.items()}


@pytest.mark.parametrize("fraction", [0.0, 0.9, -0.9])
def test_a_float32_result_within_the_forward_tolerance_passes_every_literal(library, fraction):
    for case in literal_cases(library):
        problem = materialize(case, "float32")
        outputs = {k: round_to_dtype(v, "float32") for k, v in reference_outputs(problem).items()}
        records = check_literals(case.expect, pushed_away(problem, outputs, fraction), problem)
        assert all(r["passed"] for r in records), (case.id, [r.get("message") for r in records])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_real_deviation_still_fails_each_literal(library, dtype):
    for case in literal_cases(library):
        if dtype not in case.dtypes:
            continue
        problem = materialize(case, dtype)
        outputs = reference_outputs(problem)
        for k, exp in enumerate(case.expect):
            name = "c" if exp["output"] == "c_entering" else exp["output"]
            own = 0.5 * 10.0 ** -exp["round"] if "round" in exp else exp.get("atol", 0.0)
            wrong = {n: np.array(v) for n, v in outputs.items()}
            flat = wrong[name].reshape(-1)
            index = 1 if exp["output"] == "c_entering" else 0  # c_entering[0] is c0, not an output
            tol = tolerance_for(dtype)
            flat[index] += 3 * (own + tol.atol + tol.rtol * abs(flat[index]))  # past the rule and the dtype's slack
            record = check_literals([exp], wrong, problem)[0]
            assert record["passed"] is False, (case.id, dtype, k)


def one_literal_case():
    """A case whose only literal is c_n = 2 with atol 1e-6."""
    return load_text("""
cases:
  - id: lit
    about: one literal with atol 1e-6
    shape: {seq_len: 1, batch: 1, input_size: 1, hidden_size: 1}
    expect:
      - {output: c_n, atol: 0.000001, values: [2.0]}
""")[0]


def test_the_dtype_tolerance_is_what_separates_pass_from_fail():
    case = one_literal_case()
    tol = tolerance_for("float32")
    allowed = 1e-6 + tol.atol + tol.rtol * 2.0
    f32, f64 = materialize(case, "float32"), materialize(case, "float64")
    just_inside = {"c_n": np.array([[[2.0 + 0.99 * allowed]]])}
    just_outside = {"c_n": np.array([[[2.0 + 1.01 * allowed]]])}
    assert check_literals(case.expect, just_inside, f32)[0]["passed"] is True
    failed = check_literals(case.expect, just_outside, f32)[0]
    assert failed["passed"] is False and failed["dtype_tolerance"] == tol.as_dict()
    # in float64 the dtype adds almost nothing: a float32-sized error fails
    assert check_literals(case.expect, {"c_n": np.array([[[2.0000014]]])}, f64)[0]["passed"] is False


def test_failure_messages_show_the_digits_that_differ():
    case = one_literal_case()
    record = check_literals(case.expect, {"c_n": np.array([[[2.0000014]]])}, materialize(case, "float64"))[0]
    assert "expected 2, got 2.000001 " in record["message"], record["message"]
    assert "difference 1.4e-06" in record["message"]
    assert distinct(1.0, 1.0 + 2 ** -52) == ("1", "1.0000000000000002")
    assert distinct(0.5, 0.25) == ("0.5", "0.25")
