"""`forward`: the outputs against the float64 reference on the same (rounded) inputs, plus
the case's literal expectations. On failure the record gets a diagnosis."""
from __future__ import annotations

from ..literals import check_literals
from ..diagnosis import diagnose_forward
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
        if record["status"] == "fail" and run.diagnose:
            record["diagnosis"] = diagnose_forward(problem, got, run.reference, tol)
            record["message"] += f" — diagnosis: {record['diagnosis']['summary']}"
