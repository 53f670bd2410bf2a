"""`forward`: the outputs against the float64 reference on the same (rounded) inputs, plus
the case's literal expectations. On failure the record gets a diagnosis."""
from __future__ import annotations

import math

import numpy as np

from ..literals import check_literals
from ..diagnosis import attach, diagnose_outputs
from ..tolerances import tolerance_for
from .base import Check, compare_outputs, finish


class ForwardCheck(Check):
    name = "forward"
    about = "outputs y, h_n, c_n (and c) against the float64 reference; literal expectations"

    def judge(self, run, record: dict) -> None:
        problem, got = run.problem, run.outputs
        record["output_dtypes"] = run.output_dtypes
        tol = tolerance_for(run.dtype)
        expected = {k: v for k, v in run.reference.items() if k in got or k in run.capabilities.outputs}
        comparisons = compare_outputs(expected, got, tol, run.dtype, problem.config,
                                      required=tuple(run.capabilities.outputs))
        record["tolerance"] = tol.as_dict()
        record["outputs"] = comparisons
        record["literals"] = check_literals(run.case.expect, got, problem)
        literal_failures = [lit["message"] for lit in record["literals"] if lit["passed"] is False]
        finish(record, comparisons, literal_failures)
        profile = error_by_step(expected.get("y"), got.get("y"), tol, problem.config.time_axis)
        if profile is not None:
            record["error_by_step"] = profile
        if record["status"] == "fail" and run.diagnose:
            attach(record, diagnose_outputs(run))



def _significant(value: float) -> float:
    """3 significant digits: enough for a plot on a log scale, and results.json stays small."""
    return float(f"{value:.3g}") if math.isfinite(value) else value


def _per_step(values: np.ndarray, time_axis: int) -> list[float]:
    other = tuple(a for a in range(values.ndim) if a != time_axis)
    per_step = values.max(axis=other) if other else values
    return [_significant(float(v)) for v in per_step]


def error_by_step(expected, got, tol, time_axis: int):
    """{"y": max |y − reference| at each step, "allowed": max (atol + rtol·|reference|) at each
    step}, the data of the report's error-against-time plot (so that the report never runs an
    implementation again); None without a y of the expected shape, or with no steps. Every
    forward record keeps it: the library's cases have about 5,000 steps in all, so the profiles
    add about 0.5 MB to the built-ins' results.json (docs/PERFORMANCE.md, results.json size)."""
    if expected is None or got is None:
        return None
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got)
    if got.shape != expected.shape or expected.size == 0:
        return None
    diff = np.abs(got.astype(np.float64) - expected)
    diff = np.where(np.isfinite(diff), diff, np.inf)  # NaN is as bad as it gets
    return {"y": _per_step(diff, time_axis), "allowed": _per_step(tol.atol + tol.rtol * np.abs(expected), time_axis)}
