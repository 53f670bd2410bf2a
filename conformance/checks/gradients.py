"""`gradients`: the adapter's gradients w.r.t. x, h0, c0 and every parameter against the
reference's BPTT, for random upstream gradients on y, h_n and c_n together and on each
alone (a backward pass that drops one of them passes the "together" comparison only by
luck, and fails the one where that term is alone).

Cases: every valid case with T ≤ 300 (the T = 1000 case adds time, not coverage).
Tolerance: tolerances.gradient_tolerance, atol scaled by the array's largest magnitude.
"""
from __future__ import annotations

import numpy as np

from ..metrics import axis_names, compare_output, worst_of
from ..diagnosis import diagnose_gradients
from ..spec.model import GATE_ORDER, UPSTREAM_TERMS, parameter_shapes
from ..tolerances import gradient_tolerance, tolerance_for
from .base import Check, finish, upstream_gradients
from .limits import REPEATED_RUNS_MAX_SEQ_LEN

UPSTREAMS = UPSTREAM_TERMS


def gradient_axes(name: str, config) -> tuple:
    """Axis names of a gradient array, for locating its worst element."""
    if name == "x":
        return axis_names("y", config)
    if name in ("h0", "c0"):
        return axis_names("h_n", config)
    if name.startswith("peephole"):
        return ("gate", "unit")
    return ("row", "col")[: len(parameter_shapes(config)[name])]


def gate_block(name: str, row: int, config) -> str | None:
    """'f, unit 3' for row 4H-block parameters (weight_ih/hh, bias_ih/hh), else None."""
    if not name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        return None
    H = config.hidden_size
    return f"{GATE_ORDER[row // H]}, unit {row % H}"


def reference_gradients(run, upstream: dict, terms: tuple) -> dict:
    """The reference gradients for the sum of the given upstream terms (linear in them)."""
    parts = [run.cache.gradients(run.problem, k, upstream) for k in terms]
    return {name: sum(p[name] for p in parts) for name in parts[0]}


def compare_gradients(run, expected: dict, got: dict, label: str, required_states: bool) -> tuple[list, list]:
    """Comparisons of every gradient array, and messages for missing ones."""
    config, comparisons, missing = run.problem.config, [], []
    for name, exp in expected.items():
        if name in ("h0", "c0") and not required_states:
            continue
        if name not in got:
            missing.append(f"upstream {label}: no gradient for {name}")
            continue
        tol = gradient_tolerance(run.dtype, np.max(np.abs(exp)) if exp.size else 0.0)
        comparison = compare_output(f"grad {name}", exp, got[name], tol, run.dtype, config,
                                    axes=gradient_axes(name, config))
        comparison["upstream"] = label
        worst = comparison.get("worst")
        if worst and "row" in worst["index"]:
            block = gate_block(name, worst["index"]["row"], config)
            if block:
                worst["gate"] = block
                if not comparison["passed"]:
                    comparison["message"] += f" [gate {block}]"
        comparisons.append(comparison)
    return comparisons, missing


class GradientsCheck(Check):
    name = "gradients"
    about = "gradients w.r.t. x, h0, c0, every parameter vs reference BPTT; upstream on y, h_n, c_n together and alone"

    def applies(self, case) -> bool:
        return case.expect_error is None and case.shape["seq_len"] <= REPEATED_RUNS_MAX_SEQ_LEN

    def unsupported(self, run):
        return run.gradients_unsupported()

    def judge(self, run, record: dict) -> None:
        upstream = upstream_gradients(run)
        states = "initial_state" in run.capabilities.features
        comparisons, missing = [], []
        got_by_label, expected_by_label = {}, {}
        for label, terms in UPSTREAMS.items():
            given = {k: (upstream[k] if k in terms else None) for k in ("y", "h_n", "c_n")}
            expected = reference_gradients(run, upstream, terms)
            got = run.gradients_for_all_upstream() if label == "all" else run.gradients(run.problem, given)
            got_by_label[label], expected_by_label[label] = got, expected
            found, absent = compare_gradients(run, expected, got, label, states)
            comparisons += found
            missing += absent
        record["tolerance"] = tolerance_for(run.dtype, "gradients").as_dict()
        record["tolerance_note"] = "atol × max(1, max |expected|) per gradient array"
        record["gradients"] = comparisons
        # worst array first, and one of them only: the record's "gradients" lists every array
        failing = sorted((c for c in comparisons if not c["passed"]),
                         key=lambda c: -(c.get("tolerance_used") or float("inf")))
        finish(record, [], missing + [f"upstream {c['upstream']}: {c['message']}" for c in failing[:1]])
        if len(failing) > 1:
            others = sorted({c["output"].removeprefix("grad ") for c in failing[1:]})
            shown = ", ".join(others[:6]) + (", ..." if len(others) > 6 else "")
            record["message"] += f"; and {len(failing) - 1} more failing gradient arrays ({shown})"
        record.update(worst_of(comparisons))
        if record["status"] == "fail" and run.diagnose:
            record["diagnosis"] = diagnose_gradients(run, upstream, got_by_label, expected_by_label, comparisons)
            record["message"] += f" — diagnosis: {record['diagnosis']['summary']}"
