"""The suite's own mutation score: run the checks against every mutant of the zoo and
against the correct control, and tabulate which check kills which defect.

A mutant is killed when some record of it fails or errors. The score is killed / total; the
run is good when every mutant is killed and the control has no failing record (no false
failures). QUICK_CASES is a small subset of the library on which every mutant is killed:
the tests use it; `lstm-conformance mutants` runs the whole library unless told --quick.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Callable, Optional

from ..checks import ReferenceCache, select_checks
from ..harness.runner import run_suite
from .control import ControlLSTM
from .zoo import ZOO

# Why each case is in the quick subset.
QUICK_CASES = {
    "gate-blocks-distinguishable": "every gate block scaled differently, h0 and c0 given: most defects",
    "random/t5b3i4h7/bias/given-state": "a plain random case with state (gradient defects, float16 compute)",
    "large-initial-cell": "c0 in ±20: a clipped cell state shows",
    "saturated-gates-extreme": "pre-activations in the hundreds: an overflowing sigmoid returns NaN",
    "lengths-with-state": "rows shorter than T: padding processed",
    "bidirectional": "a reverse direction whose outputs must be re-aligned",
}


def run_mutants(cases, mutants=ZOO, checks=None, dtypes=None,
                on_record: Optional[Callable[[dict], None]] = None) -> dict:
    """{"control": {...}, "mutants": [...], "checks": [...], "killed", "total", "score"}.

    Runs torch on one thread: the zoo is thousands of tiny problems, for which a second
    OpenMP thread only adds contention (ten times slower on a busy 2-core machine)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_mutants(list(cases), mutants, checks, dtypes, on_record)
    finally:
        torch.set_num_threads(threads)


def _run_mutants(cases, mutants, checks, dtypes, on_record) -> dict:
    cache = ReferenceCache()
    checks = [c.name for c in select_checks(checks)]

    def records_of(adapter):
        return run_suite(cases, [adapter], dtypes, on_record, checks=checks, diagnose=False, cache=cache)

    control_records = records_of(ControlLSTM())
    false_failures = [r for r in control_records if r["status"] in ("fail", "error")]
    rows = []
    for mutant_class in mutants:
        mutant = mutant_class()
        records = records_of(mutant)
        kills = Counter(r["check"] for r in records if r["status"] in ("fail", "error"))
        ran = {r["check"] for r in records if r["status"] in ("pass", "fail", "error")}
        first = next((r for r in records if r["status"] in ("fail", "error")), None)
        rows.append({"name": mutant.name, "defect": mutant.defect, "kills": dict(kills), "ran": sorted(ran),
                     "killed": bool(kills),
                     "example": None if first is None else f"{first['check']} on {first['case']} [{first['dtype']}]: "
                                                            f"{first['message'][:160]}"})
    killed = sum(r["killed"] for r in rows)
    return {"checks": checks, "cases": [c.id for c in cases],
            "control": {"records": len(control_records), "false_failures": false_failures},
            "mutants": rows, "killed": killed, "total": len(rows),
            "score": killed / len(rows) if rows else 1.0}


def kill_matrix_markdown(result: dict) -> str:
    """The defect × check matrix: the number of failing records, '·' when the check ran and
    passed everywhere, '–' when it never ran on that mutant."""
    from tabulate import tabulate

    checks = result["checks"]
    rows = []
    for m in result["mutants"]:
        cells = [str(m["kills"][c]) if c in m["kills"] else ("·" if c in m["ran"] else "–") for c in checks]
        rows.append([m["name"]] + cells + ["killed" if m["killed"] else "SURVIVED"])
    control = result["control"]
    lines = [tabulate(rows, headers=["mutant"] + checks + ["verdict"], tablefmt="github"), "",
             f"mutation score: {result['killed']}/{result['total']} killed ({100 * result['score']:.0f}%) "
             f"on {len(result['cases'])} cases",
             f"control (correct implementation): {len(control['false_failures'])} false failures "
             f"in {control['records']} records"]
    for r in control["false_failures"][:10]:
        lines.append(f"  FALSE FAILURE {r['check']} on {r['case']} [{r['dtype']}]: {r['message'][:200]}")
    by_check = defaultdict(int)
    for m in result["mutants"]:
        for c in m["kills"]:
            by_check[c] += 1
    lines.append("mutants killed per check: " + ", ".join(f"{c} {by_check[c]}" for c in checks))
    return "\n".join(lines)


def good(result: dict) -> bool:
    """Every mutant killed and no false failure of the control."""
    return result["killed"] == result["total"] and not result["control"]["false_failures"]
