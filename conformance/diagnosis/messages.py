"""The text of a diagnosis: its summary, and the record's message and fields."""
from __future__ import annotations

from typing import Optional

MAX_PLACES = 4  # places a summary names (y, h_n, c_n, c fit; gradients list the first three)


def _summary(where: dict, patterns: list, tried: bool = True) -> str:
    if patterns:
        non_finite = [f"{info['non_finite']} in {name}" for name, info in where.items() if info.get("non_finite")]
        return "reproduced by: " + " or ".join(patterns) + (
            f" (NaN/Inf where the reference is finite: {', '.join(non_finite)})" if non_finite else "")
    parts = []
    for name, info in where.items():
        if "first_step" in info:
            parts.append(f"{name} from step {info['first_step']} (rows {info['rows']}, units {info['units']})")
        elif "layers" in info:
            parts.append(f"{name} (layers {info['layers']}, rows {info['rows']}, units {info['units']})")
        elif "gate_blocks" in info:
            parts.append(f"{name} (gate blocks {', '.join(info['gate_blocks'])})")
        else:
            parts.append(name)
        if info.get("non_finite"):
            parts[-1] += f", {info['non_finite']} NaN/Inf where the reference is finite"
    text = "no known defect pattern reproduces it" if tried else "defect patterns not tried (problem too large)"
    if len(parts) > MAX_PLACES:  # a gradient failure can list dozens of arrays: the record's "where" has them all
        parts = parts[:MAX_PLACES - 1] + [f"and {len(parts) - MAX_PLACES + 1} more (the diagnosis' where lists them)"]
    return text + ("; deviates in " + "; ".join(parts) if parts else "")


def _ids(patterns: list) -> list[str]:
    """The registry ids of the defects named (defects.py)."""
    return [p.defect_id for p in patterns]


def attach(record: dict, diagnosis: Optional[dict]) -> None:
    """Put a diagnosis on a failed record and its summary at the end of the message."""
    if diagnosis:
        record["diagnosis"] = diagnosis
        record["message"] += f" — diagnosis: {diagnosis['summary']}"


def _verdict(patterns: list, where: Optional[dict] = None) -> dict:
    return {"where": where or {}, "patterns": [str(p) for p in patterns], "defects": _ids(patterns),
            "summary": _summary(where or {}, patterns)}
