"""Literal expectations of a case (such as the textbook's rounded sequences), checked in
addition to the comparison with the reference."""
from __future__ import annotations

import numpy as np

from .tolerances import literal_tolerance


def derived_output(name: str, outputs: dict, problem) -> np.ndarray | None:
    """An output by name; `c_entering` is the cell state entering each step: c0, c_1 .. c_{T-1}."""
    if name != "c_entering":
        return outputs.get(name)
    if "c" not in outputs:
        return None
    cells = np.asarray(outputs["c"], dtype=np.float64)
    time_axis = problem.config.time_axis
    c0 = np.zeros_like(np.take(cells, [0], axis=time_axis)) if problem.c0 is None else \
        np.expand_dims(problem.c0[0], time_axis)
    return np.concatenate([c0, np.take(cells, range(cells.shape[time_axis] - 1), axis=time_axis)], axis=time_axis)


def distinct(a: float, b: float) -> tuple[str, str]:
    """a and b printed with the fewest significant digits (at least 6) that tell them apart."""
    for digits in range(6, 18):
        left, right = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if left != right:
            return left, right
    return repr(float(a)), repr(float(b))


def literal_slack(dtype: str, want: np.ndarray) -> np.ndarray:
    """What the tested dtype adds to a literal's own rule: the forward tolerance of that dtype
    at the literal's values (an implementation that passes the reference comparison may be
    this far from the float64 reference, hence from the literal)."""
    tol = literal_tolerance(dtype)
    return tol.atol + tol.rtol * np.abs(want)


def check_literals(expectations: list, outputs: dict, problem) -> list[dict]:
    """One record per expectation: passed True/False, or None when the output is not exposed.

    Rules (SPEC.md §10): `atol a` passes when |got − literal| ≤ a + (atol + rtol·|literal|) of
    the tested dtype's forward tolerance; `round n` passes when got rounds to the literal, or
    lies within half a unit of the n-th decimal plus that dtype tolerance (so a float32 value a
    rounding error below x.5 is not a failure)."""
    tol = literal_tolerance(problem.dtype)
    records = []
    for exp in expectations:
        want = np.asarray(exp["values"], dtype=np.float64).ravel()
        rule = f"round {exp['round']}" if "round" in exp else f"atol {exp.get('atol', 0.0):g}"
        record = {"output": exp["output"], "rule": rule, "dtype_tolerance": tol.as_dict(), "expected": want.tolist()}
        got = derived_output(exp["output"], outputs, problem)
        if got is None:
            record.update(passed=None, message=f"not checked: the implementation does not expose {exp['output']}")
        else:
            got = np.asarray(got, dtype=np.float64).ravel()
            if got.size != want.size:
                record.update(passed=False, message=f"{exp['output']} has {got.size} elements, the literal {want.size}")
            else:
                slack = literal_slack(problem.dtype, want)
                if "round" in exp:
                    shown = np.round(got, exp["round"]) + 0.0  # + 0.0 turns -0.0 into 0.0
                    allowed = 0.5 * 10.0 ** -exp["round"] + slack
                    ok = (shown == want) | (np.abs(got - want) <= allowed)
                else:
                    shown = got
                    allowed = exp.get("atol", 0.0) + slack
                    ok = np.abs(got - want) <= allowed
                ok &= np.isfinite(got)
                record.update(passed=bool(ok.all()), got=shown.tolist())
                if not ok.all():
                    first = int(np.argmin(ok))
                    expected_text, got_text = distinct(want[first], got[first])
                    record["message"] = (f"{exp['output']} ({rule}, {problem.dtype}) differs from the literal at flat index {first}: "
                                         f"expected {expected_text}, got {got_text} (difference "
                                         f"{abs(got[first] - want[first]):.3g}, allowed {allowed[first]:.3g})")
        records.append(record)
    return records
