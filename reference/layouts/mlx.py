"""Apple MLX mlx.nn.LSTM parameters <-> canonical, for one cell.

Facts (ml-explore/mlx, python/mlx/nn/layers/recurrent.py, LSTM, read in release 0.32.4): the
module has `Wx` (4H, I), `Wh` (4H, H) and `bias` (4H,) or None (bias=False), and computes

    ifgo = bias + x @ Wx.T  (+ h @ Wh.T);   i, f, g, o = split(ifgo, 4)
    c' = σ(f) * c + σ(i) * tanh(g);          h' = σ(o) * tanh(c')

so the blocks are in PyTorch's order i, f, g, o with one bias: the Equinox layout
(reference.layouts.equinox) under other names. Input is (B, T, I) or (T, I), batch first.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .cells import fail
from .equinox import from_equinox, to_equinox

CONVENTION = "MLX LSTM"
NAMES = {"weight_ih": "Wx", "weight_hh": "Wh", "bias": "bias"}  # Equinox field -> MLX parameter


def to_mlx(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"Wx", "Wh"[, "bias"]} of an mlx.nn.LSTM from a canonical cell."""
    try:
        fields = to_equinox(cell)
    except ValueError as err:
        raise fail(CONVENTION, str(err).split(": ", 1)[-1]) from None
    return {NAMES[key]: value for key, value in fields.items()}


def from_mlx(parameters: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell from an mlx.nn.LSTM's parameters (the bias goes to bias_ih)."""
    unknown = set(parameters) - set(NAMES.values())
    if unknown or not {"Wx", "Wh"} <= set(parameters):
        raise fail(CONVENTION, f"parameters {sorted(parameters)}, expected Wx, Wh and optionally bias")
    by_field = {field: parameters[name] for field, name in NAMES.items() if name in parameters}
    try:
        return from_equinox(by_field)
    except ValueError as err:
        message = str(err).split(": ", 1)[-1]
        for field, name in NAMES.items():
            message = message.replace(field, name)
        raise fail(CONVENTION, message) from None
