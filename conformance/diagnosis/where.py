"""Where the outputs deviate: for each failing output, the first failing time step, the
failing steps, rows (batch), units, directions and layers; for gradients, the failing arrays
and, for the (4H, ·) parameters, the gate blocks."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..metrics import failing_mask
from ..reference.forward import state_to_batched, to_time_major
from ..spec.model import GATE_ORDER, OUTPUTS, Problem
from ..tolerances import Tolerance


def compact(indices) -> str:
    """'0-3, 7, 9-10' for [0, 1, 2, 3, 7, 9, 10]."""
    indices = sorted(int(i) for i in indices)
    parts, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}-{i}")
            start = None
    return ", ".join(parts)


def locate_output(name: str, expected: np.ndarray, got: np.ndarray, tol: Tolerance, problem: Problem) -> Optional[dict]:
    """Where one output is out of tolerance, or None when it is not."""
    expected, got = np.asarray(expected, np.float64), np.asarray(got, np.float64)
    if expected.shape != got.shape:
        return {"shape": f"{got.shape} instead of {expected.shape}"}
    mask = failing_mask(expected, got, tol)
    if not mask.any():
        return None
    config = problem.config
    info = {"failing_elements": int(mask.sum()), "of": int(mask.size)}
    non_finite = int((~np.isfinite(got) & np.isfinite(expected)).sum())
    if non_finite:
        info["non_finite"] = non_finite
    if name in ("y", "c"):
        tm = to_time_major(config, mask)  # (T, B, D·F)
        steps = np.nonzero(tm.any(axis=(1, 2)))[0]
        info.update(first_step=int(steps[0]), steps=compact(steps), rows=compact(np.nonzero(tm.any(axis=(0, 2)))[0]))
        width = tm.shape[2] // config.num_directions
        units = np.nonzero(tm.any(axis=(0, 1)))[0]
        info["units"] = compact(units % width)
        if config.bidirectional:
            info["directions"] = sorted({"reverse" if u >= width else "forward" for u in units})
    else:
        st = state_to_batched(config, mask)  # (L·D, B, F)
        slots = np.nonzero(st.any(axis=(1, 2)))[0]
        D = config.num_directions
        info["layers"] = compact(sorted({s // D for s in slots}))
        if config.bidirectional:
            info["directions"] = sorted({"reverse" if s % D else "forward" for s in slots})
        info.update(rows=compact(np.nonzero(st.any(axis=(0, 2)))[0]), units=compact(np.nonzero(st.any(axis=(0, 1)))[0]))
    return info


def locate_outputs(problem: Problem, expected: dict, got: dict, tol: Tolerance) -> dict:
    where = {}
    for name in OUTPUTS:
        if name in expected and name in got:
            info = locate_output(name, expected[name], got[name], tol, problem)
            if info:
                where[name] = info
    return where


def _gradient_where(name: str, expected: np.ndarray, got: np.ndarray, tol: Tolerance, problem: Problem) -> dict:
    mask = failing_mask(expected, got, tol) if expected.shape == got.shape else np.ones(expected.shape, bool)
    info = {"failing_elements": int(mask.sum()), "of": int(mask.size)}
    H = problem.config.hidden_size
    if name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        rows = np.nonzero(mask.reshape(mask.shape[0], -1).any(axis=1))[0]
        info["gate_blocks"] = [GATE_ORDER[b] for b in sorted({int(r) // H for r in rows})]
        info["units"] = compact(sorted({int(r) % H for r in rows}))
    elif name == "x" and mask.ndim >= 2:
        tm = to_time_major(problem.config, mask)  # (T, B, I)
        steps = np.nonzero(tm.any(axis=(1, 2)))[0]
        if steps.size:
            info.update(first_step=int(steps[0]), steps=compact(steps),
                        rows=compact(np.nonzero(tm.any(axis=(0, 2)))[0]),
                        units=compact(np.nonzero(tm.any(axis=(0, 1)))[0]))
    return info
