"""The report's plots: their data (computed once, stored in results.json) and their PNGs.

- error against time step: max |y − reference| at each step of the longest selected case,
  per implementation, with the tolerance for comparison: does the error grow with T?
- time against batch size: the forward time of shapes that differ only in batch size,
  per implementation, from the speed records.
Figures are drawn with matplotlib's object API (no pyplot, no GUI backend, no global state).
"""
from __future__ import annotations

import base64
import io
import math
from typing import Optional

import numpy as np

from ..adapter import prepared_callable
from ..bench.shapes import parse_shape
from ..reference import lstm_forward
from ..spec.materialize import materialize
from ..tolerances import tolerance_for


def longest_case(cases):
    """The selected case with the most time steps (ties: the first id); None if none runs."""
    runnable = [c for c in cases if c.expect_error is None]
    if not runnable:
        return None
    return min(runnable, key=lambda c: (-c.shape["seq_len"], c.id))


def _significant(value: float) -> float:
    """4 significant digits: the plot needs no more, and results.json stays small."""
    return float(f"{value:.4g}") if math.isfinite(value) else value


def _per_step(values: np.ndarray, time_axis: int) -> list[float]:
    other = tuple(a for a in range(values.ndim) if a != time_axis)
    per_step = values.max(axis=other) if other else values
    return [_significant(float(v)) for v in per_step]


def error_by_step(case, adapters, dtype: Optional[str] = None) -> dict:
    """Per-step max abs error of y against the float64 reference, for each adapter that runs
    the case; why the others do not is kept in `notes`."""
    dtype = dtype or ("float32" if "float32" in case.dtypes else case.dtypes[0])
    problem = materialize(case, dtype)
    reference = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0,
                             problem.lengths).as_dict()["y"]
    config = problem.config
    time_axis = config.time_axis
    tol = tolerance_for(dtype)
    data = {"case": case.id, "dtype": dtype, "seq_len": problem.seq_len,
            "allowed": _per_step(tol.atol + tol.rtol * np.abs(reference), time_axis), "series": {}, "notes": {}}
    for adapter in adapters:
        name = adapter.name
        try:
            why_not = adapter.skip_reason() or adapter.unsupported_reason(problem)
            if why_not:
                data["notes"][name] = f"not run: {why_not}"
                continue
            got = np.asarray(adapter.to_numpy(prepared_callable(adapter, problem)())["y"])
        except Exception as err:  # the correctness table already reports it; the plot says why a line is missing
            data["notes"][name] = f"error: {type(err).__name__}: {err}"[:300]
            continue
        if got.shape != reference.shape:
            data["notes"][name] = f"y has shape {got.shape}, expected {reference.shape}"
            continue
        diff = np.abs(got.astype(np.float64) - reference)
        diff = np.where(np.isfinite(diff), diff, np.inf)
        data["series"][name] = _per_step(diff, time_axis)
    return data


def batch_groups(speed: list[dict]) -> list[dict]:
    """Groups of speed records whose shapes differ only in batch size (at least two sizes):
    [{"label", "mode", "dtype", "series": {impl: [(batch, seconds), ...]}}], largest first."""

    groups: dict = {}
    for entry in speed:
        if entry.get("status") != "ok" or entry.get("median") is None:
            continue
        try:
            shape = parse_shape(entry["shape"])
        except (ValueError, KeyError, TypeError):
            continue
        dims, options = shape.shape, shape.options
        key = (dims["seq_len"], dims["input_size"], dims["hidden_size"], tuple(sorted(options.items())),
               entry.get("mode", "forward"), entry.get("dtype", ""))
        group = groups.setdefault(key, {})
        group.setdefault(entry["impl"], {})[dims["batch"]] = float(entry["median"])
    out = []
    for (T, I, H, options, mode, dtype), by_impl in groups.items():
        batches = {b for points in by_impl.values() for b in points}
        if len(batches) < 2:
            continue
        extra = "".join(f" {k}={v}" for k, v in options if v not in (1, 0, False))
        out.append({"label": f"T={T}, I={I}, H={H}{extra}", "mode": mode, "dtype": dtype,
                    "series": {impl: sorted(points.items()) for impl, points in sorted(by_impl.items())},
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
            batches, seconds = zip(*points)
            axes.plot(batches, [s * 1e3 for s in seconds], marker="o", label=impl)
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xlabel("batch size B")
        axes.set_ylabel(f"{group['mode']} time per call (ms, median)")
        axes.set_title(f"{group['label']} [{group['dtype']}]", fontsize="medium")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle("Time against batch size")
    return _png(figure)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
