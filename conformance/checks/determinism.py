"""`determinism`: the same inputs give bit-identical outputs, whether the prepared callable
is called again or prepared afresh (and, with gradient support, identical gradients).

An adapter declaring Capabilities.deterministic = False passes, with the spread between runs
reported (max abs difference and ULPs). Cases: every valid case; gradients for T ≤ 50 (long cases add
time, not coverage): the gradients for the case's upstream that the gradients check
computed (CaseRun.gradients_for_all_upstream) against one more backward pass.
"""
from __future__ import annotations

import numpy as np

from ..diagnosis import attach, diagnose_repeated_runs
from ..metrics import ulp
from .base import Check, upstream_gradients
from .limits import DETERMINISM_GRADIENTS_MAX_SEQ_LEN



def difference(first: dict, second: dict, dtype: str) -> tuple[list[str], float, float]:
    """(where the two runs differ, max abs difference, max difference in ULPs)."""
    where, spread, spread_ulp = [], 0.0, 0.0
    for name in sorted(set(first) | set(second)):
        a, b = first.get(name), second.get(name)
        if a is None or b is None or a.shape != b.shape:
            where.append(f"{name} present or shaped differently")
            continue
        if np.array_equal(a, b, equal_nan=True):
            continue
        diff = np.abs(a - b)
        diff = np.where(np.isnan(diff), np.inf, diff)
        index = np.unravel_index(int(np.argmax(diff)), diff.shape)
        where.append(f"{name}{list(map(int, index))}: {a[index]:.17g} then {b[index]:.17g}")
        spread = max(spread, float(diff.max()))
        spread_ulp = max(spread_ulp, float((diff / ulp(a, dtype)).max()))
    return where, spread, spread_ulp


class DeterminismCheck(Check):
    name = "determinism"
    about = "two runs on the same inputs are bit-identical (or the declared spread is reported)"

    def judge(self, run, record: dict) -> None:
        first = run.outputs
        runs = {"called again": run.call_again(), "prepared again": run.execute(run.problem)[0]}
        where, spread, spread_ulp = [], 0.0, 0.0
        for label, outputs in runs.items():
            w, s, u = difference(first, outputs, run.dtype)
            where += [f"{label}: {x}" for x in w]
            spread, spread_ulp = max(spread, s), max(spread_ulp, u)
        if run.gradients_unsupported() is None and run.problem.seq_len <= DETERMINISM_GRADIENTS_MAX_SEQ_LEN:
            # the first call's gradients (shared with the gradients check) against a second call
            w, s, u = difference(run.gradients_for_all_upstream(), run.gradients(run.problem, upstream_gradients(run)),
                                 run.dtype)
            where += [f"gradients: grad {x}" for x in w]
            spread, spread_ulp = max(spread, s), max(spread_ulp, u)
        record["spread"] = {"max_abs": spread, "max_ulp": spread_ulp}
        if not where:
            record.update(status="pass", message="")
        elif not run.capabilities.deterministic:
            record.update(status="pass",
                          message=f"declared nondeterministic; spread {spread:.3g} ({spread_ulp:.3g} ULP)")
        else:
            record.update(status="fail", message="runs differ: " + "; ".join(where[:4])
                          + f" (spread {spread:.3g}, {spread_ulp:.3g} ULP)")
            if run.diagnose:
                attach(record, diagnose_repeated_runs(first, list(runs.values()), run.dtype))
