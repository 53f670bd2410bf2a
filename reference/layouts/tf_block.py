"""TensorFlow block-LSTM layout <-> canonical, for one cell (one layer, one direction).

Facts (TensorFlow `tf.raw_ops.BlockLSTMV2`, `BlockLSTM` and `LSTMBlockCell`, their op docs and
tensorflow/core/kernels/rnn/lstm_ops.cc):
  w    (I + H, 4H)   one kernel on xh = [x, h_prev]: z = xh @ w + b
  b    (4H,)         one bias
  wci, wcf, wco (H,) peepholes of the input, forget and output gates
Gate blocks along the last axis: BlockLSTMV2 uses "IFCO" (i, f, c, o: c is the cell input,
our g), the canonical order; BlockLSTM and LSTMBlockCell use "ICFO" (i, c, f, o: "unlike
LSTMBlockCell (and BlockLSTM) which uses ICFO gate layout, this op uses IFCO", the
BlockLSTMV2 doc). TF1's `rnn_cell.LSTMCell` kernel has the ICFO order too ("i, j, f, o").
The rows of w are weight_ihᵀ over weight_hhᵀ. No projection in these ops.

One bias where PyTorch has two: canonical -> TF keeps b_ih + b_hh; TF -> canonical puts it in
bias_ih and zeros in bias_hh, which computes the same function. Peepholes are optional on
the TF side: the ops take wci, wcf, wco always, zeros (ignored) without use_peephole.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .cells import cell_sizes, check_shape, fail, reject_extras, require, split_gates, summed_bias, two_biases

CONVENTION = "TensorFlow block LSTM"
# gate layout name -> the canonical gate of each block, in TF's order
GATE_LAYOUTS = {"ifco": ("i", "f", "g", "o"), "icfo": ("i", "g", "f", "o")}
PEEPHOLES = ("wci", "wcf", "wco")  # rows i, f, o of the canonical peephole


def _order(gate_layout: str) -> tuple:
    if gate_layout not in GATE_LAYOUTS:
        raise fail(CONVENTION, f"unknown gate_layout {gate_layout!r}; expected one of {', '.join(GATE_LAYOUTS)}")
    return GATE_LAYOUTS[gate_layout]


def to_tf_block(cell: Mapping[str, np.ndarray], gate_layout: str = "ifco") -> dict[str, np.ndarray]:
    """{"w"[, "b"][, "wci", "wcf", "wco"]} from a canonical cell (no projection, no layer norm)."""
    order = _order(gate_layout)
    reject_extras(cell, CONVENTION, allowed=("peephole",))
    cell_sizes(cell, CONVENTION)

    def reordered(array):
        blocks = split_gates(array, 0)
        return np.concatenate([blocks[g] for g in order], axis=0)

    w = np.concatenate([reordered(np.asarray(cell["weight_ih"])).T, reordered(np.asarray(cell["weight_hh"])).T], axis=0)
    out = {"w": w.copy()}
    bias = summed_bias(cell)
    if bias is not None:
        out["b"] = reordered(bias)
    if "peephole" in cell:
        out.update({name: np.asarray(cell["peephole"])[row].copy() for row, name in enumerate(PEEPHOLES)})
    return out


def from_tf_block(weights: Mapping[str, np.ndarray], input_size: int, gate_layout: str = "ifco") -> dict[str, np.ndarray]:
    """A canonical cell from the op's w (and b, peepholes); w's rows are I inputs then H units."""
    order = _order(gate_layout)
    unknown = set(weights) - {"w", "b", *PEEPHOLES}
    if unknown:
        raise fail(CONVENTION, f"unknown arrays {sorted(unknown)}; expected w, b, wci, wcf, wco")
    w = require(weights, "w", CONVENTION)
    if w.ndim != 2 or w.shape[1] % 4:
        raise fail(CONVENTION, f"w has shape {w.shape}, expected (I + H, 4H)")
    hidden = w.shape[1] // 4
    check_shape(w, (input_size + hidden, 4 * hidden), CONVENTION, "w", f"I + H, 4H with I = {input_size}, H = {hidden}")

    def canonical(array):
        blocks = dict(zip(order, np.split(np.asarray(array), 4, axis=0)))
        return np.concatenate([blocks[g] for g in ("i", "f", "g", "o")], axis=0)

    cell = {"weight_ih": canonical(w[:input_size].T), "weight_hh": canonical(w[input_size:].T)}
    if "b" in weights:
        bias = np.asarray(weights["b"])
        check_shape(bias, (4 * hidden,), CONVENTION, "b", f"4H with H = {hidden}")
        cell.update(two_biases(canonical(bias), into="ih"))
    present = [name for name in PEEPHOLES if name in weights]
    if present:
        if len(present) != 3:
            raise fail(CONVENTION, f"peepholes need wci, wcf and wco; present: {', '.join(present)}")
        for name in PEEPHOLES:
            check_shape(np.asarray(weights[name]), (hidden,), CONVENTION, name, f"H = {hidden}")
        cell["peephole"] = np.stack([np.asarray(weights[name]) for name in PEEPHOLES])
    return cell
