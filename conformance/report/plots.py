"""The report's plots, drawn from the results document alone (never by running anything).

- error against time step: max |y − reference| at each step of the longest case that has
  per-step profiles (the forward check stores them in its records), per implementation, with
  the tolerance for comparison: does the error grow with T?
- time against batch size: the forward time (median, with IQR bars) of shapes that differ only
  in batch size, per implementation, from the reliable speed records.
Figures are drawn with matplotlib's object API (no pyplot, no GUI backend, no global state).
"""
from __future__ import annotations

import base64
import io
import math
from typing import Optional

from ..bench.shapes import parse_shape
from .results import NOT_RUN, check_of


def _profiled(record: dict) -> bool:
    return check_of(record) == "forward" and bool((record.get("error_by_step") or {}).get("y"))


def error_by_step_data(records: list[dict]) -> Optional[dict]:
    """{"case", "dtype", "seq_len", "allowed", "series": {impl: per-step errors}, "notes": {impl:
    why it has no line}} for the longest profiled case (float32 preferred, then the first case id),
    or None when no record has a profile."""
    profiled = [r for r in records if _profiled(r)]
    if not profiled:
        return None
    chosen = min(profiled, key=lambda r: (-len(r["error_by_step"]["y"]), r.get("dtype") != "float32",
                                          r.get("case", ""), r.get("dtype", "")))
    case, dtype = chosen.get("case"), chosen.get("dtype")
    data = {"case": case, "dtype": dtype, "seq_len": len(chosen["error_by_step"]["y"]),
            "allowed": chosen["error_by_step"].get("allowed", []), "series": {}, "notes": {}}
    for r in records:
        if r.get("case") != case or r.get("dtype") != dtype or check_of(r) != "forward":
            continue
        if _profiled(r):
            data["series"][r.get("impl")] = r["error_by_step"]["y"]
        elif r.get("status") in NOT_RUN:
            data["notes"][r.get("impl")] = f"not run: {r.get('message', '')}"
        else:
            data["notes"][r.get("impl")] = f"{r.get('status')}: {r.get('message', '')}"[:300]
    return data


def _quartiles(entry: dict) -> tuple[float, float]:
    """(q1, q3) of a speed record; records without them get median ± iqr/2."""
    median, iqr = float(entry["median"]), float(entry.get("iqr") or 0.0)
    q1, q3 = entry.get("q1"), entry.get("q3")
    return (float(q1) if q1 is not None else median - iqr / 2, float(q3) if q3 is not None else median + iqr / 2)


def batch_groups(speed: list[dict]) -> list[dict]:
    """Groups of reliable speed records whose shapes differ only in batch size (at least two
    sizes): [{"label", "mode", "dtype", "series": {impl: [(batch, median, q1, q3), ...]}}],
    largest first. A record the noise guard marked unreliable (`reliable: false`) is left out."""

    groups: dict = {}
    for entry in speed:
        if entry.get("status") != "ok" or entry.get("median") is None or entry.get("reliable") is False:
            continue
        try:
            shape = parse_shape(entry["shape"])
        except (ValueError, KeyError, TypeError):
            continue
        dims, options = shape.shape, shape.options
        key = (dims["seq_len"], dims["input_size"], dims["hidden_size"], tuple(sorted(options.items())),
               entry.get("mode", "forward"), entry.get("dtype", ""))
        group = groups.setdefault(key, {})
        group.setdefault(entry["impl"], {})[dims["batch"]] = (float(entry["median"]), *_quartiles(entry))
    out = []
    for (T, I, H, options, mode, dtype), by_impl in groups.items():
        batches = {b for points in by_impl.values() for b in points}
        if len(batches) < 2:
            continue
        extra = "".join(f" {k}={v}" for k, v in options if v not in (1, 0, False))
        out.append({"label": f"T={T}, I={I}, H={H}{extra}", "mode": mode, "dtype": dtype,
                    "series": {impl: [(b, *values) for b, values in sorted(points.items())]
                               for impl, points in sorted(by_impl.items())},
                    "batches": len(batches)})
    return sorted(out, key=lambda g: (-g["batches"], g["label"]))


# ---------------------------------------------------------------- drawing

def _png(figure) -> bytes:
    buffer = io.BytesIO()
    # No metadata: the same data gives the same bytes.
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _figure(width=8.0, height=4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _as_floats(values) -> list[float]:
    """Values read back from results.json: 'inf'/'nan' strings become floats."""
    return [float(v) for v in values]


def plot_error_by_step(data: dict) -> Optional[bytes]:
    """PNG of the per-step errors (log scale; exact zeros drawn at the floor, Inf at the top)."""
    series = {name: _as_floats(values) for name, values in data.get("series", {}).items()}
    if not series:
        return None
    finite_positive = [v for values in series.values() for v in values if math.isfinite(v) and v > 0]
    allowed = _as_floats(data.get("allowed", []))
    floor = min(finite_positive + [a for a in allowed if a > 0] or [1e-16]) / 10
    top = max(finite_positive + [a for a in allowed if math.isfinite(a)] or [1.0]) * 10
    figure = _figure()
    axes = figure.subplots()
    for name, values in series.items():
        shown = [top if not math.isfinite(v) else max(v, floor) for v in values]
        axes.plot(range(len(shown)), shown, label=name, linewidth=1.2)
    if allowed:
        axes.plot(range(len(allowed)), allowed, "k--", linewidth=1, label="tolerance (atol + rtol·|y|)")
    axes.set_yscale("log")
    axes.set_ylim(floor / 2, top * 2)
    axes.set_xlabel("time step t")
    axes.set_ylabel("max |y − reference| over batch and units")
    axes.set_title(f"Error against time step: {data.get('case')} [{data.get('dtype')}]")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small")
    return _png(figure)


def plot_time_by_batch(speed: list[dict], max_groups: int = 3) -> Optional[bytes]:
    groups = batch_groups(speed)[:max_groups]
    if not groups:
        return None
    figure = _figure(width=5.0 * len(groups), height=4.2)
    axes_list = figure.subplots(1, len(groups), squeeze=False)[0]
    for axes, group in zip(axes_list, groups):
        for impl, points in group["series"].items():
            batches, medians, q1, q3 = zip(*points)
            ms = [m * 1e3 for m in medians]
            bars = [[max(m - a * 1e3, 0.0) for m, a in zip(ms, q1)], [max(b * 1e3 - m, 0.0) for m, b in zip(ms, q3)]]
            axes.errorbar(batches, ms, yerr=bars, marker="o", capsize=3, label=impl)
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xlabel("batch size B")
        axes.set_ylabel(f"{group['mode']} time per call (ms, median and IQR)")
        axes.set_title(f"{group['label']} [{group['dtype']}]", fontsize="medium")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle("Time against batch size")
    return _png(figure)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
