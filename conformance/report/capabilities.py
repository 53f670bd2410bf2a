"""The coverage matrix: what each implementation declares it can run (its Capabilities),
with the reason it gives for what it cannot. Stored in results.json under "coverage", so the
HTML report is rendered from the results file alone."""
from __future__ import annotations

from ..adapter import FEATURES
from ..spec.model import DTYPES

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
