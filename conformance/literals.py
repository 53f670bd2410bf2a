"""Literal expectations of a case (such as the textbook's rounded sequences), checked in
addition to the comparison with the reference."""
from __future__ import annotations

import numpy as np


def derived_output(name: str, outputs: dict, problem) -> np.ndarray | None:
    """An output by name; `c_entering` is the cell state entering each step: c0, c_1 .. c_{T-1}."""
    if name != "c_entering":
        return outputs.get(name)
    if "c" not in outputs:
        return None
    cells = np.asarray(outputs["c"], dtype=np.float64)
    time_axis = 1 if (problem.config.batch_first and not problem.config.unbatched) else 0
    c0 = np.zeros_like(np.take(cells, [0], axis=time_axis)) if problem.c0 is None else \
        np.expand_dims(problem.c0[0], time_axis)
    return np.concatenate([c0, np.take(cells, range(cells.shape[time_axis] - 1), axis=time_axis)], axis=time_axis)


def check_literals(expectations: list, outputs: dict, problem) -> list[dict]:
    """One record per expectation: passed True/False, or None when the output is not exposed."""
    records = []
    for exp in expectations:
        want = np.asarray(exp["values"], dtype=np.float64).ravel()
        rule = f"round {exp['round']}" if "round" in exp else f"atol {exp.get('atol', 0.0):g}"
        record = {"output": exp["output"], "rule": rule, "expected": want.tolist()}
        got = derived_output(exp["output"], outputs, problem)
        if got is None:
            record.update(passed=None, message=f"not checked: the implementation does not expose {exp['output']}")
        else:
            got = np.asarray(got, dtype=np.float64).ravel()
            if got.size != want.size:
                record.update(passed=False, message=f"{exp['output']} has {got.size} elements, the literal {want.size}")
            else:
                if "round" in exp:
                    shown = np.round(got, exp["round"]) + 0.0  # + 0.0 turns -0.0 into 0.0
                    ok = shown == want
                else:
                    shown = got
                    ok = np.abs(got - want) <= exp.get("atol", 0.0)
                record.update(passed=bool(ok.all()), got=shown.tolist())
                if not ok.all():
                    first = int(np.argmin(ok))
                    record["message"] = (f"{exp['output']} ({rule}) differs from the literal at flat index {first}: "
                                         f"expected {want[first]:g}, got {shown[first]:.6g}")
        records.append(record)
    return records
