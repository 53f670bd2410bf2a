"""`padding-invariance`: with variable lengths, what x holds past a row's length changes
nothing: neither the outputs nor (for adapters with gradients) any gradient.

The padding is refilled with U(-4, 4) values (finite on purpose: the spec says nothing about
NaN in padding). Compared with the adapter's own run on the original padding. Cases: those
with lengths where some row is shorter than T.
"""
from __future__ import annotations

import numpy as np

from ..diagnosis import attach, diagnose_runs
from ..metrics import compare_output
from ..tolerances import gradient_tolerance, tolerance_for
from . import derive
from .base import Check, compare_outputs, finish, seeded_rng, upstream_gradients
from .gradients import gradient_axes


class PaddingInvarianceCheck(Check):
    name = "padding-invariance"
    about = "outputs and gradients do not depend on the contents of the padding"

    def applies(self, case) -> bool:
        lengths = case.inputs.get("lengths")
        return case.expect_error is None and lengths is not None and min(lengths, default=0) < case.shape["seq_len"]

    def judge(self, run, record: dict) -> None:
        problem, config = run.problem, run.problem.config
        repadded = derive.repadded(problem, seeded_rng(run.case, "padding"))
        got, _ = run.execute(repadded)
        tol = tolerance_for(run.dtype, self.name)
        comparisons = compare_outputs(run.outputs, got, tol, run.dtype, config)
        if run.capabilities.gradients:
            upstream = upstream_gradients(run)
            before, after = run.gradients(problem, upstream), run.gradients(repadded, upstream)
            for name in sorted(set(before) & set(after)):
                gtol = gradient_tolerance(run.dtype, np.max(np.abs(before[name])) if before[name].size else 0.0)
                c = compare_output(f"grad {name}", before[name], after[name], gtol, run.dtype, config,
                                   axes=gradient_axes(name, config))
                comparisons.append(c)
        record["tolerance"] = tol.as_dict()
        record["outputs"] = comparisons
        finish(record, comparisons, prefix="new padding contents vs original: ")
        if record["status"] == "fail" and run.diagnose:
            attach(record, diagnose_runs(run, [(repadded, got)]))
