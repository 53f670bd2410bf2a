"""The textbook layouts of docs/TEXTBOOK.md <-> canonical, for one cell (one layer, one direction).

per-gate, right-multiplied (TEXTBOOK.md §2 naive, §5): row-vector state, one bias per gate
    z_g = x @ W_x{g} + h @ W_h{g} + b_{g}      W_x{g} (I, H), W_h{g} (H, H), b_{g} (H,)
    (§2 names the input matrices U_{g} and multiplies x @ U; §5 calls them W_x{g}. Same arrays.)
per-gate, column vectors, two biases (TEXTBOOK.md §4, PyTorch's documented names)
    z_g = W_i{g} x + b_i{g} + W_h{g} h + b_h{g}   W_i{g} (H, I), W_h{g} (H, H), b_i{g}, b_h{g} (H, 1)
vectorised (TEXTBOOK.md §2 vectorised)
    z = x @ W + h @ U + bias                    W (I, 4H), U (H, 4H), bias (4H,), blocks i, f, g, o

g runs over the gates i, f, g, o (g is the cell input). Layouts with one bias per gate keep
only b_ih + b_hh; coming back, the sum goes to bias_ih and bias_hh is zeros. The column
layout keeps both biases and converts exactly both ways. None of them has a projection or
peepholes (§2's peephole variant does not run as published and is not a layout here).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...spec.model import GATE_ORDER
from .cells import (cell_sizes, check_shape, fail, join_gates, reject_extras, require, split_gates, summed_bias,
                    two_biases)
from .fused import from_fused, to_fused

PER_GATE_RIGHT = "textbook per-gate right-multiplied layout"
PER_GATE_COLUMN = "textbook per-gate column-vector layout"
VECTORISED = "textbook vectorised layout"
VECTORISED_NAMES = ("W", "U", "bias")


def _check_names(weights: Mapping, expected: set, convention: str) -> None:
    if set(weights) != expected:
        missing, extra = sorted(expected - set(weights)), sorted(set(weights) - expected)
        raise fail(convention, f"arrays do not match the layout: missing {missing or 'none'}, unexpected {extra or 'none'}")


def to_per_gate_right(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{W_x{g}, W_h{g}[, b_{g}]} for g in i, f, g, o."""
    reject_extras(cell, PER_GATE_RIGHT)
    cell_sizes(cell, PER_GATE_RIGHT)
    w_ih, w_hh = split_gates(cell["weight_ih"], 0), split_gates(cell["weight_hh"], 0)
    bias = summed_bias(cell)
    out = {}
    for g in GATE_ORDER:
        out[f"W_x{g}"] = w_ih[g].T.copy()
        out[f"W_h{g}"] = w_hh[g].T.copy()
    if bias is not None:
        out.update({f"b_{g}": b.copy() for g, b in split_gates(bias, 0).items()})
    return out


def from_per_gate_right(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell; the per-gate biases go to bias_ih, bias_hh is zeros."""
    matrices = {f"W_x{g}" for g in GATE_ORDER} | {f"W_h{g}" for g in GATE_ORDER}
    biases = {f"b_{g}" for g in GATE_ORDER}
    has_bias = any(name in weights for name in biases)
    _check_names(weights, matrices | biases if has_bias else matrices, PER_GATE_RIGHT)
    hidden_matrix = require(weights, "W_hi", PER_GATE_RIGHT)
    if hidden_matrix.ndim != 2:
        raise fail(PER_GATE_RIGHT, f"W_hi has shape {hidden_matrix.shape}, expected (H, H)")
    hidden = hidden_matrix.shape[0]
    inputs = np.asarray(weights["W_xi"]).shape[0]
    for g in GATE_ORDER:
        check_shape(np.asarray(weights[f"W_x{g}"]), (inputs, hidden), PER_GATE_RIGHT, f"W_x{g}", "I, H")
        check_shape(np.asarray(weights[f"W_h{g}"]), (hidden, hidden), PER_GATE_RIGHT, f"W_h{g}", "H, H")
        if has_bias:
            check_shape(np.asarray(weights[f"b_{g}"]), (hidden,), PER_GATE_RIGHT, f"b_{g}", "H")
    cell = {"weight_ih": join_gates({g: np.asarray(weights[f"W_x{g}"]).T for g in GATE_ORDER}, 0),
            "weight_hh": join_gates({g: np.asarray(weights[f"W_h{g}"]).T for g in GATE_ORDER}, 0)}
    if has_bias:
        cell.update(two_biases(join_gates({g: np.asarray(weights[f"b_{g}"]) for g in GATE_ORDER}, 0), into="ih"))
    return cell


def to_per_gate_column(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{W_i{g}, W_h{g}[, b_i{g}, b_h{g}]} for g in i, f, g, o; biases as (H, 1) columns."""
    reject_extras(cell, PER_GATE_COLUMN)
    _, hidden = cell_sizes(cell, PER_GATE_COLUMN)
    w_ih, w_hh = split_gates(cell["weight_ih"], 0), split_gates(cell["weight_hh"], 0)
    out = {}
    for g in GATE_ORDER:
        out[f"W_i{g}"] = w_ih[g].copy()
        out[f"W_h{g}"] = w_hh[g].copy()
    if "bias_ih" in cell:
        for side in ("i", "h"):
            blocks = split_gates(cell[f"bias_{side}h"], 0)  # bias_ih, then bias_hh
            out.update({f"b_{side}{g}": b.reshape(hidden, 1).copy() for g, b in blocks.items()})
    return out


def from_per_gate_column(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell; exact (both biases are kept)."""
    matrices = {f"W_{side}{g}" for side in "ih" for g in GATE_ORDER}
    biases = {f"b_{side}{g}" for side in "ih" for g in GATE_ORDER}
    has_bias = any(name in weights for name in biases)
    _check_names(weights, matrices | biases if has_bias else matrices, PER_GATE_COLUMN)
    hidden_matrix = require(weights, "W_hi", PER_GATE_COLUMN)
    if hidden_matrix.ndim != 2:
        raise fail(PER_GATE_COLUMN, f"W_hi has shape {hidden_matrix.shape}, expected (H, H)")
    hidden = hidden_matrix.shape[0]
    inputs = np.asarray(weights["W_ii"]).shape[-1]
    for g in GATE_ORDER:
        check_shape(np.asarray(weights[f"W_i{g}"]), (hidden, inputs), PER_GATE_COLUMN, f"W_i{g}", "H, I")
        check_shape(np.asarray(weights[f"W_h{g}"]), (hidden, hidden), PER_GATE_COLUMN, f"W_h{g}", "H, H")
        for side in ("i", "h") if has_bias else ():
            check_shape(np.asarray(weights[f"b_{side}{g}"]), (hidden, 1), PER_GATE_COLUMN, f"b_{side}{g}",
                        "H, 1: a column")
    cell = {"weight_ih": join_gates({g: np.asarray(weights[f"W_i{g}"]) for g in GATE_ORDER}, 0),
            "weight_hh": join_gates({g: np.asarray(weights[f"W_h{g}"]) for g in GATE_ORDER}, 0)}
    if has_bias:
        for side in ("i", "h"):
            cell[f"bias_{side}h"] = join_gates({g: np.asarray(weights[f"b_{side}{g}"]).reshape(-1)
                                                for g in GATE_ORDER}, 0)
    return cell


def to_vectorised(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"W" (I, 4H), "U" (H, 4H)[, "bias" (4H)]}, blocks i, f, g, o."""
    return to_fused(cell, VECTORISED, VECTORISED_NAMES)


def from_vectorised(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell: bias_ih = bias, bias_hh = zeros."""
    return from_fused(weights, VECTORISED, VECTORISED_NAMES)
