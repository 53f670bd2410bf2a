"""Coverage as data: what each implementation can run (feature × implementation, with the
reason for each gap) and how many cases and checks were actually run per implementation.

The capability part extends capabilities.capability_coverage (the one the HTML report
draws) with what the checks need; tables.coverage_markdown renders both.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from .capabilities import capability_coverage
from .results import RAN, check_of


def feature_matrix(adapters) -> dict:
    """{"columns", "rows": {impl: {column: {"supported", "note"}}}, "notes"}: the capability
    matrix plus two columns the checks read: mixed dtypes (errors check) and determinism."""
    table = capability_coverage(adapters)
    table["columns"] = list(table["columns"]) + ["mixed dtypes", "deterministic"]
    for adapter in adapters:
        row = table["rows"].get(adapter.name)
        if row is None:  # capabilities() raised; capability_coverage noted why
            continue
        caps = adapter.capabilities()
        row["mixed dtypes"] = {"supported": bool(caps.mixed_dtypes),
                               "note": "" if caps.mixed_dtypes else "casts every array to the problem's dtype, so "
                                                                     "the errors check cannot give it mixed dtypes"}
        row["deterministic"] = {"supported": bool(caps.deterministic),
                                "note": "" if caps.deterministic else "declared nondeterministic: spread reported"}
        if not caps.gradients:
            row["gradients"] = dict(row.get("gradients", {}), supported=False,
                                    note="no gradients(): the gradients check is unsupported")
    return table


def run_counts(records: list[dict]) -> dict:
    """impl -> {"cases": (case, dtype) pairs with at least one check run, "checks_run": records
    of checks that ran, "by_check": {check: {status: count}}}."""
    cases, ran, by_check = defaultdict(set), Counter(), defaultdict(lambda: defaultdict(Counter))
    for r in records:
        impl = r["impl"]
        by_check[impl][check_of(r)][r["status"]] += 1
        if r["status"] in RAN:
            cases[impl].add((r["case"], r["dtype"]))
            ran[impl] += 1
    return {impl: {"cases": len(cases[impl]), "checks_run": ran[impl],
                   "by_check": {check: dict(statuses) for check, statuses in sorted(by_check[impl].items())}}
            for impl in by_check}
