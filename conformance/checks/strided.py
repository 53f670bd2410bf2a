"""`strided`: non-contiguous inputs (x, h0, c0 and every parameter given as strided views of
larger buffers, x also with its first two axes swapped in memory) give the same outputs as
contiguous ones. Compared with the adapter's own contiguous run. Cases: valid, T ≤ 300.

The adapter hands the views to the implementation; adapters that convert dtypes should keep
the layout (adapter.tensor_keeping_strides) or the check only reaches their conversion.
"""
from __future__ import annotations

from ..diagnosis import attach, diagnose_runs
from ..tolerances import tolerance_for
from . import derive
from .base import Check, compare_outputs, finish
from .limits import REPEATED_RUNS_MAX_SEQ_LEN



class StridedCheck(Check):
    name = "strided"
    about = "non-contiguous (strided) inputs and parameters give the contiguous results"

    def applies(self, case) -> bool:
        return case.expect_error is None and case.shape["seq_len"] <= REPEATED_RUNS_MAX_SEQ_LEN

    def judge(self, run, record: dict) -> None:
        strided = derive.strided_problem(run.problem)
        got, _ = run.execute(strided)
        tol = tolerance_for(run.dtype, self.name)
        record["tolerance"] = tol.as_dict()
        record["outputs"] = compare_outputs(run.outputs, got, tol, run.dtype, run.problem.config)
        finish(record, record["outputs"], prefix="strided vs contiguous: ")
        if record["status"] == "fail" and run.diagnose:
            attach(record, diagnose_runs(run, [(strided, got)]))
