"""Equinox eqx.nn.LSTMCell fields <-> canonical, for one cell.

Facts (patrick-kidger/equinox, equinox/nn/_rnn.py, LSTMCell, read in release 0.13.8): the
cell has fields `weight_ih` (4H, I), `weight_hh` (4H, H) and `bias` (4H,) or None
(use_bias=False), and one step computes

    lin = weight_ih @ x + weight_hh @ h (+ bias);   i, f, g, o = split(lin, 4)
    c' = σ(f) * c + σ(i) * tanh(g);                 h' = σ(o) * tanh(c')

so the blocks are in PyTorch's order i, f, g, o and there is one bias. The state is the
tuple (h, c), h first. No projection, no peepholes.

Canonical -> Equinox stores b_ih + b_hh as `bias` (only the sum reaches the gates); Equinox
-> canonical puts it in `bias_ih` and zeros in `bias_hh`. A cell without bias has no `bias`
entry (use_bias=False).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .cells import cell_sizes, check_shape, fail, reject_extras, summed_bias, two_biases

CONVENTION = "Equinox LSTMCell"


def to_equinox(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"weight_ih", "weight_hh"[, "bias"]} of an eqx.nn.LSTMCell from a canonical cell."""
    reject_extras(cell, CONVENTION)
    cell_sizes(cell, CONVENTION)
    fields = {"weight_ih": np.array(cell["weight_ih"]), "weight_hh": np.array(cell["weight_hh"])}
    bias = summed_bias(cell)
    if bias is not None:
        fields["bias"] = bias
    return fields


def from_equinox(fields: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell from an eqx.nn.LSTMCell's fields (a `bias` of None means no bias)."""
    unknown = set(fields) - {"weight_ih", "weight_hh", "bias"}
    if unknown or not {"weight_ih", "weight_hh"} <= set(fields):
        raise fail(CONVENTION, f"fields {sorted(fields)}, expected weight_ih, weight_hh and optionally bias")
    w_ih, w_hh = np.asarray(fields["weight_ih"]), np.asarray(fields["weight_hh"])
    if w_ih.ndim != 2 or w_ih.shape[0] % 4:
        raise fail(CONVENTION, f"weight_ih has shape {w_ih.shape}, expected (4H, I)")
    hidden = w_ih.shape[0] // 4
    check_shape(w_hh, (4 * hidden, hidden), CONVENTION, "weight_hh", "4H, H")
    cell = {"weight_ih": w_ih.copy(), "weight_hh": w_hh.copy()}
    if fields.get("bias") is not None:
        bias = np.asarray(fields["bias"])
        check_shape(bias, (4 * hidden,), CONVENTION, "bias", "4H")
        cell.update(two_biases(bias, into="ih"))
    return cell
