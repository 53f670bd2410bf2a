"""`batch-independence`: each batch row gives what it gives when run alone, and permuting the
rows of the batch permutes the outputs.

Rows run alone: the first, the middle and the last (enough to catch shared state without
B separate runs). The permutation is a rotation by one, which moves every row. Compared
with the adapter's own full-batch run. Cases: batched, B ≥ 2, T ≤ 300.
"""
from __future__ import annotations

import numpy as np

from ..diagnosis import attach, diagnose_runs
from ..metrics import worst_of
from ..tolerances import tolerance_for
from . import derive
from .base import Check, compare_outputs, finish
from .limits import REPEATED_RUNS_MAX_SEQ_LEN



class BatchIndependenceCheck(Check):
    name = "batch-independence"
    about = "each row alone equals its row in the batch; permuting the batch permutes the outputs"

    def applies(self, case) -> bool:
        return (case.expect_error is None and not case.config.unbatched and case.shape["batch"] >= 2
                and case.shape["seq_len"] <= REPEATED_RUNS_MAX_SEQ_LEN)

    def judge(self, run, record: dict) -> None:
        problem, config = run.problem, run.problem.config
        full = run.outputs
        tol = tolerance_for(run.dtype, self.name)
        comparisons, runs = [], []
        B = problem.batch
        for row in sorted({0, B // 2, B - 1}):
            single = derive.select_rows(problem, [row])
            alone, _ = run.execute(single)
            runs.append((single, alone))
            for c in compare_outputs(derive.output_rows(config, full, [row]), alone, tol, run.dtype, config):
                c["variant"] = f"row {row} alone"
                comparisons.append(c)
        permutation = np.roll(np.arange(B), 1)
        permuted, _ = run.execute(derive.select_rows(problem, permutation))
        for c in compare_outputs(derive.output_rows(config, full, permutation), permuted, tol, run.dtype, config):
            c["variant"] = f"rows permuted {permutation.tolist()}"
            comparisons.append(c)
        record["tolerance"] = tol.as_dict()
        record["outputs"] = comparisons
        failing = [f"{c['variant']}: {c['message']}" for c in comparisons if not c["passed"]]
        finish(record, [], failing[:4])
        record.update(worst_of(comparisons))
        if record["status"] == "fail" and run.diagnose:
            attach(record, diagnose_runs(run, runs))
