"""Tolerance calibration: the error distribution of correct implementations over the case
library, per check and dtype. This is the measurement behind conformance/tolerances.py.

Method: run the default checks (no diagnosis) with implementations known to be correct;
take every array compared (each output of the forward and consistency checks, each gradient
array of the gradients check) and its max abs error, max rel error, max ULP error and
`tolerance_used` = max |error| / (atol + rtol·|expected|). The margin of a tolerance is
1 / max(tolerance_used): how far the worst correct result stays from failing.

    lstm-conformance calibrate [--impl NAME ...] [-k PATTERN ...]

prints the table that SPEC.md's "Tolerance calibration" section quotes (plus the gradients
of every case with T ≤ 50 in float16 and bfloat16, which the library does not list).
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np
from tabulate import tabulate

from .harness.runner import run_suite
from .report.results import Status

CORRECT_IMPLEMENTATIONS = ("numpy", "torch-cell", "torch-lstm")
MEASURED_CHECKS = ("forward", "gradients", "state-chaining", "batch-independence", "padding-invariance", "strided",
                   "dtypes")
METRICS = ("max_abs", "max_rel", "max_ulp", "tolerance_used")


def error_samples(records: list[dict]) -> list[dict]:
    """One sample per compared array of passing or failing records."""
    samples = []
    for r in records:
        if r["status"] not in (Status.PASS, Status.FAIL):
            continue
        for c in r.get("outputs", []) + r.get("gradients", []):
            if "max_abs" not in c:
                continue
            samples.append({"check": r["check"], "dtype": r["dtype"], "impl": r["impl"], "case": r["case"],
                            "array": c["output"], **{m: c[m] for m in METRICS}})
    return samples


def summarize(samples: list[dict]) -> dict:
    """(check, dtype) -> {"arrays": n, metric: {p50, p99, max}, "worst": where tolerance_used peaks}."""
    groups = defaultdict(list)
    for s in samples:
        groups[(s["check"], s["dtype"])].append(s)
    summary = {}
    for key, group in sorted(groups.items()):
        entry = {"arrays": len(group)}
        for m in METRICS:
            values = np.array([s[m] for s in group], dtype=np.float64)
            entry[m] = {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
                        "max": float(values.max())}
        worst = max(group, key=lambda s: s["tolerance_used"])
        entry["worst"] = f"{worst['impl']} {worst['case']} {worst['array']}"
        entry["margin"] = (1.0 / entry["tolerance_used"]["max"]) if entry["tolerance_used"]["max"] > 0 else float("inf")
        summary[key] = entry
    return summary


def measure(cases, adapters, checks=MEASURED_CHECKS) -> dict:
    """Run the checks and summarize the errors (see the module docstring)."""
    records = run_suite(cases, adapters, checks=list(checks), diagnose=False)
    return summarize(error_samples(records))


def half_precision_cases(cases, max_seq_len: int = 50) -> list:
    """The valid cases with T ≤ max_seq_len, in float16 and bfloat16 only: the library lists
    no half dtypes, so this is how the half-precision gradient tolerances are measured."""
    return [dataclasses.replace(c, dtypes=("float16", "bfloat16")) for c in cases
            if c.expect_error is None and c.shape["seq_len"] <= max_seq_len]


def markdown(summary: dict) -> str:
    rows = []
    for (check, dtype), e in summary.items():
        rows.append([check, dtype, e["arrays"], f"{e['max_abs']['p99']:.1e}", f"{e['max_abs']['max']:.1e}",
                     f"{e['max_rel']['max']:.1e}", f"{e['max_ulp']['max']:.3g}", f"{e['tolerance_used']['max']:.2e}",
                     f"{e['margin']:.3g}×", e["worst"]])
    return tabulate(rows, headers=["check", "dtype", "arrays", "abs p99", "abs max", "rel max", "ULP max",
                                   "tolerance used", "margin", "worst case"], tablefmt="github")


def calibrate(cases, adapters) -> dict:
    """The summary `lstm-conformance calibrate` prints: the library's checks, plus the gradients
    of its short cases in float16 and bfloat16."""
    summary = measure(cases, adapters)
    summary.update(measure(half_precision_cases(cases), adapters, checks=("gradients",)))
    return summary
