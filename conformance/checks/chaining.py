"""`state-chaining`: running T steps as two chunks, the second starting from the (h_n, c_n)
the first returned, gives the outputs of one run over all T steps.

Compared with the adapter's own single run (the property is about the implementation, so
its accuracy against the reference is the forward check's business). Cases: one forward
direction (a reverse direction cannot be chunked this way), no lengths, 2 ≤ T ≤ 300. The split is at T // 2.
"""
from __future__ import annotations

from ..diagnosis import attach, diagnose_runs
from ..tolerances import tolerance_for
from ..spec.materialize import round_to_dtype
from . import derive
from .base import Check, compare_outputs, finish
from .limits import REPEATED_RUNS_MAX_SEQ_LEN



class StateChainingCheck(Check):
    name = "state-chaining"
    about = "T steps in two chunks, passing (h, c), equal one run"

    def applies(self, case) -> bool:
        config = case.config
        return (case.expect_error is None and config.direction == "forward" and "lengths" not in case.inputs
                and 2 <= case.shape["seq_len"] <= REPEATED_RUNS_MAX_SEQ_LEN)

    def unsupported(self, run):
        if "initial_state" not in run.capabilities.features:
            return "the adapter takes no initial state, so a run cannot continue from another's state"
        return None

    def judge(self, run, record: dict) -> None:
        problem, config = run.problem, run.problem.config
        split = problem.seq_len // 2
        head = derive.time_slice(problem, 0, split, problem.h0, problem.c0)
        first, _ = run.execute(head)
        # The state handed over is what the adapter returned, in the tested dtype.
        h, c = (round_to_dtype(first[k], run.dtype) for k in ("h_n", "c_n"))
        tail = derive.time_slice(problem, split, problem.seq_len, h, c)
        second, _ = run.execute(tail)
        chained = {"h_n": second["h_n"], "c_n": second["c_n"]}
        for name in ("y", "c"):
            if name in first and name in second:
                chained[name] = derive.concat_time(config, first[name], second[name])
        tol = tolerance_for(run.dtype, self.name)
        record["split"] = split
        record["tolerance"] = tol.as_dict()
        record["outputs"] = compare_outputs(run.outputs, chained, tol, run.dtype, config)
        finish(record, record["outputs"], prefix=f"chunks [0, {split}) + [{split}, {problem.seq_len}) vs one run: ")
        if record["status"] == "fail" and run.diagnose:
            attach(record, diagnose_runs(run, [(head, first), (tail, second)]))
