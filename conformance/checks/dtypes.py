"""`dtypes`: outputs keep the input's dtype, in every dtype the adapter declares.

In the case's own dtypes this reads the dtypes of the forward run's outputs. For float16 and
bfloat16, which few library cases list, the runner adds runs of this check alone for every
adapter that declares them (extra_dtypes): the outputs must then be of that dtype and within
its tolerance of the reference (abs, rel and ULP error reported). Those extra runs are
limited to cases with T ≤ 50 that list float32: over hundreds of steps the rounding of
half-precision states grows to about half the half-precision tolerances (T = 300, measured),
leaving no margin, so longer runs would measure the problem rather than the implementation
(SPEC.md §14, tolerance calibration).
"""
from __future__ import annotations

from ..diagnosis import attach, diagnose_forward, diagnose_output_dtypes
from ..tolerances import tolerance_for
from .base import Check, compare_outputs, finish
from .limits import HALF_PRECISION_MAX_SEQ_LEN

HALF_DTYPES = ("float16", "bfloat16")


class DtypesCheck(Check):
    name = "dtypes"
    about = "outputs keep the input's dtype; float16 / bfloat16 runs within their tolerance"

    def extra_dtypes(self, case, adapter) -> list[str]:
        """Half dtypes to run this check in beyond the case's own dtypes."""
        if not self.applies(case) or case.shape["seq_len"] > HALF_PRECISION_MAX_SEQ_LEN or "float32" not in case.dtypes:
            return []
        try:
            if adapter.skip_reason():
                return []
            declared = adapter.capabilities().dtypes
        except Exception:  # a broken adapter: its records in the case's own dtypes say so
            return []
        return [d for d in HALF_DTYPES if d in declared and d not in case.dtypes]

    def judge(self, run, record: dict) -> None:
        got_dtypes = run.output_dtypes
        record["output_dtypes"] = got_dtypes
        wrong = [f"{k} is {d or type(d).__name__}" for k, d in sorted(got_dtypes.items()) if d != run.dtype]
        failures = [f"outputs must keep the input dtype {run.dtype}: " + ", ".join(wrong)] if wrong else []
        comparisons = []
        if run.dtype not in run.case.dtypes:  # an extra half-precision run: also its accuracy
            tol = tolerance_for(run.dtype)
            record["tolerance"] = tol.as_dict()
            comparisons = compare_outputs(run.reference, run.outputs, tol, run.dtype, run.problem.config,
                                          required=tuple(run.capabilities.outputs))
            record["outputs"] = comparisons
        finish(record, comparisons, failures)
        if comparisons and not all(c["passed"] for c in comparisons) and run.diagnose:
            record["diagnosis"] = diagnose_forward(run.problem, run.outputs, run.reference, tolerance_for(run.dtype))
            record["message"] += f" — diagnosis: {record['diagnosis']['summary']}"
        elif wrong and run.diagnose:
            attach(record, diagnose_output_dtypes(run.problem, run.outputs, got_dtypes, run.reference))
