"""Coverage as data: what each implementation declares it can run (its Capabilities; feature ×
implementation, with the reason it gives for each gap) and how many cases and checks were
actually run per implementation. Stored in results.json under "coverage", so the reports are
rendered from the results file alone; tables.coverage_markdown and the HTML report draw it.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from ..adapter import FEATURES
from ..spec.model import DTYPES
from .results import RAN, check_of

# Columns, in the order shown: dtypes, features, then what is beyond the plain forward pass.
EXTRA_COLUMNS = ("any activation", "per-step c", "gradients")


def columns() -> list[str]:
    return list(DTYPES) + list(FEATURES) + list(EXTRA_COLUMNS)


def _row(caps) -> dict:
    reasons = getattr(caps, "reasons", {}) or {}
    cells = {}
    for dtype in DTYPES:
        cells[dtype] = {"supported": dtype in caps.dtypes, "note": "" if dtype in caps.dtypes else reasons.get("dtype", "")}
    for feature in FEATURES:
        ok = feature in caps.features
        cells[feature] = {"supported": ok, "note": "" if ok else reasons.get(feature, "")}
    any_activation = caps.activations is None
    cells["any activation"] = {"supported": any_activation,
                               "note": "" if any_activation else reasons.get("activations", "standard activations only")}
    cells["per-step c"] = {"supported": "c" in caps.outputs, "note": ""}
    cells["gradients"] = {"supported": bool(caps.gradients), "note": ""}
    return cells


def capability_coverage(adapters) -> dict:
    """{"columns": [...], "rows": {impl: {column: {"supported", "note"}}}, "notes": {impl: text}}."""
    table = {"columns": columns(), "rows": {}, "notes": {}}
    for adapter in adapters:
        try:
            table["rows"][adapter.name] = _row(adapter.capabilities())
            skip = adapter.skip_reason()
            if skip:
                table["notes"][adapter.name] = f"skipped in this environment: {skip}"
        except Exception as err:  # a broken capabilities() is itself worth showing
            table["notes"][adapter.name] = f"capabilities() raised {type(err).__name__}: {err}"
    return table


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
