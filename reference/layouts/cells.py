"""Shared pieces of the layout converters: one cell's canonical parameters, gate blocks, checks.

A *cell* is one layer and one direction of the canonical (PyTorch) parameters with the
`_l{k}[_reverse]` suffix removed: `weight_ih` (4H, I), `weight_hh` (4H, P or H), and when
present `bias_ih`, `bias_hh` (4H), `weight_hr` (P, H), `peephole` (3, H), `layer_norm` (4, H). Converters of
single-cell conventions (Keras, Flax, the textbook layouts) take and return cells;
`cell_params` and `suffixed` move between a cell and the full parameter dictionary.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from ...spec.model import GATE_ORDER, LSTMConfig, direction_suffix

CELL_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr", "peephole", "layer_norm")


class LayoutError(ValueError):
    """Parameters do not fit a layout. The message names the convention, the key and the
    expected shape."""


def fail(convention: str, message: str) -> LayoutError:
    """A LayoutError whose message starts with the convention's name."""
    return LayoutError(f"{convention}: {message}")


def suffix(layer: int, direction: int) -> str:
    return f"_l{layer}{direction_suffix(direction)}"


def cell_params(params: Mapping[str, np.ndarray], layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
    """The parameters of one layer and direction, without their suffix."""
    sfx = suffix(layer, direction)
    cell = {key: np.asarray(params[key + sfx]) for key in CELL_KEYS if key + sfx in params}
    if "weight_ih" not in cell:
        raise LayoutError(f"canonical parameters have no weight_ih{sfx} (layer {layer}, direction {direction}); "
                          f"names present: {', '.join(sorted(params)) or 'none'}")
    return cell


def suffixed(cell: Mapping[str, np.ndarray], layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
    """The inverse of cell_params: add the `_l{layer}[_reverse]` suffix to every name."""
    sfx = suffix(layer, direction)
    return {key + sfx: value for key, value in cell.items()}


def all_cells(params: Mapping[str, np.ndarray], config: LSTMConfig) -> dict[tuple[int, int], dict]:
    """Every (layer, direction) cell of a model, for converting a stack cell by cell."""
    return {(layer, d): cell_params(params, layer, d)
            for layer in range(config.num_layers) for d in range(config.num_directions)}


def require(mapping: Mapping, key: str, convention: str) -> np.ndarray:
    if key not in mapping:
        raise LayoutError(f"{convention}: missing {key!r}; present: {', '.join(map(str, mapping)) or 'none'}")
    return np.asarray(mapping[key])


def check_shape(array: np.ndarray, expected: tuple, convention: str, name: str, meaning: str = "") -> None:
    if tuple(array.shape) != tuple(expected):
        about = f" ({meaning})" if meaning else ""
        raise LayoutError(f"{convention}: {name} has shape {tuple(array.shape)}, expected {tuple(expected)}{about}")


def cell_sizes(cell: Mapping[str, np.ndarray], convention: str) -> tuple[int, int]:
    """(input_size, hidden_size) of a canonical cell, after checking its shapes."""
    w_ih = require(cell, "weight_ih", f"canonical cell for {convention}")
    if w_ih.ndim != 2 or w_ih.shape[0] % 4:
        raise LayoutError(f"canonical cell for {convention}: weight_ih has shape {w_ih.shape}, expected (4H, I)")
    hidden = w_ih.shape[0] // 4
    out = cell["weight_hr"].shape[0] if "weight_hr" in cell else hidden
    check_shape(require(cell, "weight_hh", convention), (4 * hidden, out), f"canonical cell for {convention}",
                "weight_hh", "4H, P or H")
    for key in ("bias_ih", "bias_hh"):
        if key in cell:
            check_shape(cell[key], (4 * hidden,), f"canonical cell for {convention}", key, "4H")
    if ("bias_ih" in cell) != ("bias_hh" in cell):
        raise LayoutError(f"canonical cell for {convention}: give both bias_ih and bias_hh or neither")
    if "peephole" in cell:
        check_shape(cell["peephole"], (3, hidden), f"canonical cell for {convention}", "peephole", "rows i, f, o")
    if "layer_norm" in cell:
        check_shape(cell["layer_norm"], (4, hidden), f"canonical cell for {convention}", "layer_norm",
                    "rows i, f, g, o")
    return w_ih.shape[1], hidden


def reject_extras(cell: Mapping[str, np.ndarray], convention: str, allowed: tuple = ()) -> None:
    """Conventions without projection or peepholes cannot hold those parameters: refuse them
    rather than drop them silently."""
    what = {"weight_hr": "a projection (weight_hr)", "peephole": "peephole weights",
            "layer_norm": "layer-norm coefficients (layer_norm)"}
    for key, text in what.items():
        if key in cell and key not in allowed:
            raise LayoutError(f"{convention} has no place for {text}; this cell cannot be converted")


def split_gates(array: np.ndarray, axis: int, order: tuple = GATE_ORDER) -> dict[str, np.ndarray]:
    """The four gate blocks of `array` along `axis`, keyed by the gate names of `order`."""
    return dict(zip(order, np.split(np.asarray(array), 4, axis=axis)))


def join_gates(blocks: Mapping[str, np.ndarray], axis: int, order: tuple = GATE_ORDER) -> np.ndarray:
    return np.concatenate([blocks[g] for g in order], axis=axis)


def summed_bias(cell: Mapping[str, np.ndarray]) -> Optional[np.ndarray]:
    """b_ih + b_hh, or None for a cell without bias."""
    if "bias_ih" not in cell:
        return None
    return np.asarray(cell["bias_ih"]) + np.asarray(cell["bias_hh"])


def two_biases(bias: np.ndarray, into: str) -> dict[str, np.ndarray]:
    """A single bias as the canonical pair: all of it in `into` ("ih" or "hh"), zeros in the other."""
    bias = np.asarray(bias)
    other = "hh" if into == "ih" else "ih"
    return {f"bias_{into}": bias.copy(), f"bias_{other}": np.zeros_like(bias)}
